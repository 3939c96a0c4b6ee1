import type { BackoffPolicy } from './backoff.js';
import { checkFirmwareDigest, verifyManifest, type TrustedKey } from '../contract/firmware-verifier.js';
import { DeviceHttp, downloadFirmware, downloadManifest, describe } from './device-http.js';
import type { HeartbeatHabit } from './heartbeats.js';
import type { CommandLink, LinkHandlers } from './link.js';
import { MqttLink } from './mqtt-link.js';
import { TcpLink } from './tcp-link.js';
import type {
  DeviceIdentity,
  DeviceState,
  FotaMessage,
  MqttProtocolVersion,
  SimulatedProtocol,
  SimulationListener,
} from './types.js';

/** How one simulated device talks: its identity, its transport and the habits of its client. */
export interface SimulatedDeviceOptions {
  readonly identity: DeviceIdentity;
  /** Base of the MCS device API, `http://host:port`. */
  readonly httpBase: string;
  /** The version the device reports when it starts. */
  readonly startVersion: string;
  readonly protocol: SimulatedProtocol;
  /** TCP: the heartbeat habit of the client it imitates. */
  readonly heartbeat?: HeartbeatHabit | undefined;
  /** TCP: replaces the habit's heartbeat period. */
  readonly heartbeatIntervalMs?: number | undefined;
  /** MQTT: `mqtt://host:port`. */
  readonly mqttUrl?: string | undefined;
  /** MQTT: 3 for MQTT 3.1, 4 for 3.1.1. */
  readonly mqttVersion?: MqttProtocolVersion | undefined;
  readonly backoff?: BackoffPolicy | undefined;
  /**
   * The public keys the device trusts (its prototype's signing keys): with any, every download is
   * verified against its signed manifest, and one that does not verify is a failed update.
   */
  readonly trustedKeys?: readonly TrustedKey[] | undefined;
}

/** One device's counters and state, at one moment. */
export interface DeviceSnapshot {
  readonly deviceId: string;
  readonly name: string;
  readonly protocol: SimulatedProtocol;
  /** `tcp:mcs.c`, `mqtt:3.1`: the client it imitates. */
  readonly client: string;
  readonly state: DeviceState;
  /** The version it last reported. */
  readonly version: string | undefined;
  readonly fotaReceived: number;
  readonly downloading: boolean;
  readonly upgraded: number;
  readonly failed: number;
  /** Connections lost or refused. */
  readonly disconnects: number;
  readonly heartbeats: number;
  readonly echoes: number;
  readonly bytesDownloaded: number;
}

/**
 * A device that behaves like a real MCS client: it reports its version, holds a command link (TCP
 * or MQTT), and on each FOTA message uploads `status,,fotaing`, downloads the firmware while
 * hashing it, checks size and MD5, and reports the new version. A firmware that does not check out
 * counts as a failure and is not reported. FOTA messages that arrive during an upgrade wait: the
 * newest one runs after it.
 */
export class SimulatedDevice {
  readonly deviceId: string;
  private readonly stopping = new AbortController();
  private readonly http: DeviceHttp;
  private readonly link: CommandLink;
  private readonly client: string;
  private state: DeviceState = 'starting';
  private version: string | undefined;
  private upgrading: Promise<void> | undefined;
  private waiting: FotaMessage | undefined;
  private counters = { fotaReceived: 0, upgraded: 0, failed: 0, disconnects: 0, echoes: 0, bytesDownloaded: 0 };
  private downloading = false;

  constructor(
    private readonly options: SimulatedDeviceOptions,
    private readonly emit: SimulationListener = () => {},
  ) {
    const { deviceId, deviceKey } = options.identity;
    this.deviceId = deviceId;
    this.http = new DeviceHttp(options.httpBase, deviceId, deviceKey, this.stopping.signal);
    const handlers = this.linkHandlers();
    if (options.protocol === 'tcp') {
      const habit = options.heartbeat;
      if (!habit) throw new Error('a TCP device needs a heartbeat habit');
      this.client = `tcp:${habit.client}`;
      this.link = new TcpLink(
        {
          deviceId,
          deviceKey,
          http: this.http,
          habit,
          heartbeatIntervalMs: options.heartbeatIntervalMs,
          backoff: options.backoff,
        },
        handlers,
      );
    } else {
      if (!options.mqttUrl) throw new Error('an MQTT device needs the broker URL');
      const protocolVersion = options.mqttVersion ?? 4;
      this.client = `mqtt:${protocolVersion === 3 ? '3.1' : '3.1.1'}`;
      this.link = new MqttLink(
        { deviceId, deviceKey, mqttUrl: options.mqttUrl, protocolVersion, backoff: options.backoff },
        handlers,
      );
    }
  }

  /** Reports the start version (rejects when the server refuses it), then opens the command link. */
  async start(): Promise<void> {
    await this.http.reportFirmware(this.options.startVersion);
    this.version = this.options.startVersion;
    this.emit({ type: 'device.reported', deviceId: this.deviceId, version: this.options.startVersion });
    if (this.stopping.signal.aborted) return;
    this.state = 'connecting';
    this.link.start();
  }

  /** Cancels any download, closes the connection, and resolves once everything is closed. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.state = 'stopped';
    await this.link.stop();
    await this.upgrading;
  }

  snapshot(): DeviceSnapshot {
    return {
      deviceId: this.deviceId,
      name: this.options.identity.name,
      protocol: this.options.protocol,
      client: this.client,
      state: this.state,
      version: this.version,
      downloading: this.downloading,
      heartbeats: this.link.heartbeats,
      ...this.counters,
    };
  }

  private linkHandlers(): LinkHandlers {
    const protocol = this.options.protocol;
    return {
      connected: () => {
        if (this.stopping.signal.aborted) return;
        this.state = 'connected';
        this.emit({ type: 'device.connected', deviceId: this.deviceId, protocol });
      },
      disconnected: (reason, retryInMs) => {
        if (this.stopping.signal.aborted) return;
        this.state = 'connecting';
        this.counters.disconnects++;
        this.emit({ type: 'device.disconnected', deviceId: this.deviceId, protocol, reason, retryInMs });
      },
      fota: (fota) => this.receive(fota),
      malformedFota: (version, text) => {
        this.counters.fotaReceived++;
        this.fail(version ?? '', `FOTA message with too few fields: "${text.slice(0, 80)}"`);
      },
      problem: (message) => this.emit({ type: 'device.problem', deviceId: this.deviceId, message }),
      echo: () => {
        this.counters.echoes++;
      },
    };
  }

  private receive(fota: FotaMessage): void {
    if (this.stopping.signal.aborted) return;
    this.counters.fotaReceived++;
    this.emit({ type: 'fota.received', deviceId: this.deviceId, fota });
    if (this.upgrading) {
      this.waiting = fota;
      return;
    }
    this.upgrading = this.upgrade(fota);
  }

  private async upgrade(first: FotaMessage): Promise<void> {
    let fota: FotaMessage | undefined = first;
    while (fota && !this.stopping.signal.aborted) {
      await this.upgradeTo(fota);
      fota = this.waiting;
      this.waiting = undefined;
    }
    this.upgrading = undefined;
  }

  private async upgradeTo(fota: FotaMessage): Promise<void> {
    const signal = this.stopping.signal;
    try {
      await this.link.sendFotaingStatus();
    } catch (error) {
      if (!signal.aborted) {
        this.emit({ type: 'device.problem', deviceId: this.deviceId, message: `status not sent: ${describe(error)}` });
      }
    }
    if (signal.aborted) return;
    this.downloading = true;
    this.emit({ type: 'fota.downloading', deviceId: this.deviceId, version: fota.version });
    try {
      const trusted = this.options.trustedKeys ?? [];
      // A device that trusts keys checks the signed manifest before it takes a byte of the firmware.
      const manifest = trusted.length === 0 ? undefined : await this.verifiedManifest(fota.url, trusted, signal);
      const download = await downloadFirmware(fota.url, signal);
      this.counters.bytesDownloaded += download.bytes;
      if (download.declaredBytes !== undefined && download.declaredBytes !== download.bytes) {
        throw new Error(`size mismatch: got ${download.bytes} bytes, Content-Length said ${download.declaredBytes}`);
      }
      if (fota.md5 !== undefined && fota.md5.toLowerCase() !== download.md5) {
        throw new Error(`MD5 mismatch: got ${download.md5}, the FOTA message said ${fota.md5}`);
      }
      if (manifest) {
        try {
          checkFirmwareDigest(manifest, { size: download.bytes, sha256: download.sha256 });
        } catch (error) {
          throw new Error(`signature check failed: ${describe(error)}`, { cause: error });
        }
      }
      this.downloading = false;
      await this.http.reportFirmware(fota.version);
      this.version = fota.version;
      this.counters.upgraded++;
      this.emit({ type: 'fota.upgraded', deviceId: this.deviceId, version: fota.version, bytes: download.bytes });
    } catch (error) {
      if (!signal.aborted) this.fail(fota.version, describe(error));
    } finally {
      this.downloading = false;
    }
  }

  private async verifiedManifest(url: string, trusted: readonly TrustedKey[], signal: AbortSignal) {
    const { manifest, signature } = await downloadManifest(url, signal);
    try {
      return verifyManifest(manifest, signature, trusted);
    } catch (error) {
      throw new Error(`signature check failed: ${describe(error)}`, { cause: error });
    }
  }

  private fail(version: string, reason: string): void {
    this.counters.failed++;
    this.emit({ type: 'fota.failed', deviceId: this.deviceId, version, reason });
  }
}
