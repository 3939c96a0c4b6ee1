import type { TrustedKey } from '../contract/firmware-verifier.js';
import { ApiError, type HttpClient } from '../contract/http-client.js';
import type { BackoffPolicy } from './backoff.js';
import { ConnectionProblems, type ConnectionProblem } from './connection-problems.js';
import { habitFor } from './heartbeats.js';
import { pause } from './link.js';
import { lowestFirmwareVersion, managementClient, mapLimit, provisionDevices } from './provision.js';
import { SimulatedDevice, type DeviceSnapshot, type SimulatedDeviceOptions } from './simulated-device.js';
import type { DeviceIdentity, MqttBroker, SimulatedProtocol, SimulationEvent, SimulationListener } from './types.js';

export type ProtocolChoice = SimulatedProtocol | 'mix';

export interface SimulationOptions {
  /** Base URL of the fota server: the management API and the MCS device API, `http://host:port`. */
  readonly url: string;
  /** Administrator token for the management API. */
  readonly token: string;
  readonly prototypeId: string;
  /** How many devices: `sim-0001` … are reused or created. */
  readonly devices: number;
  /** `mix`: TCP and MQTT in turn, starting with TCP. */
  readonly protocol: ProtocolChoice;
  /** Default: the lowest version among the prototype's firmwares. */
  readonly startVersion?: string | undefined;
  /** Default: the broker the server names (`GET /api/v1/server`), else `mqtt://<host of url>:1883`. */
  readonly mqttUrl?: string | undefined;
  /** Stops the simulation; without one (and without a duration) it runs forever. */
  readonly signal?: AbortSignal | undefined;
  /** Stops the simulation after this long. */
  readonly durationMs?: number | undefined;
  /** Replaces every TCP habit's heartbeat period (tests and benchmarks). */
  readonly heartbeatIntervalMs?: number | undefined;
  readonly backoff?: BackoffPolicy | undefined;
}

export interface ProtocolCounts {
  readonly tcp: number;
  readonly mqtt: number;
}

/** The whole simulation at one moment. */
export interface SimulationStats extends DeviceTotals {
  /** Why connections failed or were lost, by kind, the most frequent first. */
  readonly connectionProblems: readonly ConnectionProblem[];
}

/** What the devices' counters add up to. */
export interface DeviceTotals {
  /** Devices simulated, by protocol. */
  readonly devices: ProtocolCounts;
  /** Devices whose command link is up (TCP socket open; MQTT connected and subscribed). */
  readonly connected: ProtocolCounts;
  readonly fotaReceived: number;
  /** Devices downloading right now. */
  readonly downloading: number;
  readonly upgraded: number;
  readonly failed: number;
  readonly disconnects: number;
  readonly heartbeats: number;
  readonly echoes: number;
  readonly bytesDownloaded: number;
  /** How many devices last reported each version. */
  readonly versions: Readonly<Record<string, number>>;
}

export interface FailureRecord {
  readonly deviceId: string;
  readonly version: string;
  readonly reason: string;
}

/** What a finished simulation did. */
export interface SimulationSummary extends SimulationStats {
  readonly prototypeId: string;
  /** The MQTT broker's URL; null without MQTT devices. */
  readonly mqttUrl: string | null;
  readonly startVersion: string;
  readonly protocol: ProtocolChoice;
  readonly elapsedMs: number;
  /** The first failures, at most `MAX_FAILURES_KEPT`. */
  readonly failures: readonly FailureRecord[];
}

/** A simulation under way. */
export interface SimulationRun {
  stats(): SimulationStats;
  /** Every device's counters (empty until the devices are provisioned). */
  devices(): DeviceSnapshot[];
  /**
   * Resolves once the signal aborted or the duration passed and every socket is closed; rejects
   * when the simulation cannot start (server unreachable, unknown prototype, refused version).
   */
  readonly done: Promise<SimulationSummary>;
}

export const MAX_FAILURES_KEPT = 100;

/** How many devices provision, report and connect at the same time while starting. */
const START_CONCURRENCY = 16;

/**
 * The public keys of the prototype's signing keys, retired ones included, as devices built now
 * would trust them; none for a server without signing (404 on the route).
 */
async function signingKeysOf(api: HttpClient, prototypeId: string): Promise<TrustedKey[]> {
  try {
    return (await api.signingKeys(prototypeId)).map((key) => ({ publicKey: key.publicKey }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return [];
    throw error;
  }
}

/** MCS's plain MQTT port, on the host of the HTTP URL: for a server that does not say where its broker is. */
export function defaultMqttUrl(httpUrl: string): string {
  return `mqtt://${new URL(httpUrl).hostname}:1883`;
}

/**
 * The broker MQTT devices connect to: the one given, else the one the server names in
 * `GET /api/v1/server`, else the default port on the host of the URL (a server without that route
 * answers 404).
 */
export async function findMqttBroker(api: HttpClient, httpUrl: string, given: string | undefined): Promise<MqttBroker> {
  if (given !== undefined && given !== '') return { url: given, from: 'option' };
  try {
    const { mqtt } = await api.serverInfo();
    if (typeof mqtt?.host === 'string' && Number.isInteger(mqtt.port) && mqtt.port > 0) {
      const host = mqtt.host.includes(':') ? `[${mqtt.host}]` : mqtt.host;
      return { url: `mqtt://${host}:${mqtt.port}`, from: 'server' };
    }
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  return { url: defaultMqttUrl(httpUrl), from: 'default' };
}

/**
 * How each device talks: with `mix`, even positions TCP and odd ones MQTT; TCP devices take the
 * heartbeat habits in turn, MQTT devices alternate MQTT 3.1 and 3.1.1.
 */
export function planDevices(
  identities: readonly DeviceIdentity[],
  protocol: ProtocolChoice,
  common: Omit<SimulatedDeviceOptions, 'identity' | 'protocol' | 'heartbeat' | 'mqttVersion'>,
): SimulatedDeviceOptions[] {
  let tcp = 0;
  let mqtt = 0;
  return identities.map((identity, index) => {
    const chosen: SimulatedProtocol = protocol === 'mix' ? (index % 2 === 0 ? 'tcp' : 'mqtt') : protocol;
    return chosen === 'tcp'
      ? { ...common, identity, protocol: 'tcp', heartbeat: habitFor(tcp++) }
      : { ...common, identity, protocol: 'mqtt', mqttVersion: mqtt++ % 2 === 0 ? 3 : 4 };
  });
}

/**
 * Runs simulated devices against a fota server: provisions them through the management API,
 * starts each (report, connect), and keeps them going until the signal aborts or the duration
 * passes, then closes every socket. `onEvent` hears everything that happens.
 */
export function runSimulation(options: SimulationOptions, onEvent: SimulationListener = () => {}): SimulationRun {
  const devices: SimulatedDevice[] = [];
  const failures: FailureRecord[] = [];
  const problems = new ConnectionProblems();
  const emit = (event: SimulationEvent) => {
    if (event.type === 'fota.failed' && failures.length < MAX_FAILURES_KEPT) {
      failures.push({ deviceId: event.deviceId, version: event.version, reason: event.reason });
    }
    onEvent(event);
    if (event.type === 'device.disconnected' && problems.record(event.protocol, event.deviceId, event.reason)) {
      const { deviceId, protocol, reason } = event;
      onEvent({ type: 'connection.problem', deviceId, protocol, reason });
    }
  };
  const stats = (): SimulationStats => ({
    ...statsOf(devices.map((device) => device.snapshot())),
    connectionProblems: problems.list(),
  });

  const run = async (): Promise<SimulationSummary> => {
    const started = Date.now();
    const signal = options.signal ?? new AbortController().signal;
    const api = managementClient(options.url, options.token);
    const startVersion = options.startVersion ?? (await lowestFirmwareVersion(api, options.prototypeId));
    if (startVersion === undefined) {
      throw new Error(
        `prototype ${options.prototypeId} has no firmware yet: upload one first (fota firmware upload ${options.prototypeId} <file> --name <name> --version <version>)`,
      );
    }
    const broker = options.protocol === 'tcp' ? undefined : await findMqttBroker(api, options.url, options.mqttUrl);
    const identities = await provisionDevices(api, options.prototypeId, options.devices, START_CONCURRENCY);
    const trustedKeys = await signingKeysOf(api, options.prototypeId);
    const plans = planDevices(identities, options.protocol, {
      httpBase: options.url,
      trustedKeys,
      startVersion,
      mqttUrl: broker?.url,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      backoff: options.backoff,
    });
    for (const plan of plans) devices.push(new SimulatedDevice(plan, emit));
    const mqttDevices = plans.filter((plan) => plan.protocol === 'mqtt').length;
    emit({
      type: 'simulation.started',
      prototypeId: options.prototypeId,
      startVersion,
      tcp: plans.filter((plan) => plan.protocol === 'tcp').length,
      mqtt: mqttDevices,
      broker: mqttDevices > 0 ? broker : undefined,
    });

    try {
      await mapLimit(devices, START_CONCURRENCY, async (device) => {
        if (!signal.aborted) await device.start();
      });
    } catch (error) {
      await Promise.all(devices.map((device) => device.stop()));
      if (!signal.aborted) {
        throw new Error(
          `a simulated device could not report version ${startVersion} (is it a version of ${options.prototypeId}?): ${message(error)}`,
          { cause: error },
        );
      }
      return summary();
    }

    if (options.durationMs !== undefined) await pause(options.durationMs, signal);
    else await aborted(signal);
    await Promise.all(devices.map((device) => device.stop()));
    return summary();

    function summary(): SimulationSummary {
      return {
        ...stats(),
        prototypeId: options.prototypeId,
        mqttUrl: mqttDevices > 0 && broker ? broker.url : null,
        startVersion: startVersion as string,
        protocol: options.protocol,
        elapsedMs: Date.now() - started,
        failures: [...failures],
      };
    }
  };

  return { stats, devices: () => devices.map((device) => device.snapshot()), done: run() };
}

/** Adds up device snapshots. */
export function statsOf(snapshots: readonly DeviceSnapshot[]): DeviceTotals {
  const devices = { tcp: 0, mqtt: 0 };
  const connected = { tcp: 0, mqtt: 0 };
  const versions: Record<string, number> = {};
  let fotaReceived = 0;
  let downloading = 0;
  let upgraded = 0;
  let failed = 0;
  let disconnects = 0;
  let heartbeats = 0;
  let echoes = 0;
  let bytesDownloaded = 0;
  for (const device of snapshots) {
    devices[device.protocol]++;
    if (device.state === 'connected') connected[device.protocol]++;
    if (device.version !== undefined) versions[device.version] = (versions[device.version] ?? 0) + 1;
    fotaReceived += device.fotaReceived;
    if (device.downloading) downloading++;
    upgraded += device.upgraded;
    failed += device.failed;
    disconnects += device.disconnects;
    heartbeats += device.heartbeats;
    echoes += device.echoes;
    bytesDownloaded += device.bytesDownloaded;
  }
  return {
    devices,
    connected,
    fotaReceived,
    downloading,
    upgraded,
    failed,
    disconnects,
    heartbeats,
    echoes,
    bytesDownloaded,
    versions,
  };
}

const aborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
