import type { IClientOptions, MqttClient } from 'mqtt';
import { Backoff, defaultBackoff, type BackoffPolicy } from './backoff.js';
import { describe } from './device-http.js';
import { classifyMqttPayload } from './fota-message.js';
import { FOTAING_CHANNEL, FOTAING_VALUE, pause, type CommandLink, type LinkHandlers } from './link.js';
import type { MqttProtocolVersion } from './types.js';

export interface MqttLinkOptions {
  readonly deviceId: string;
  readonly deviceKey: string;
  /** `mqtt://host:port` */
  readonly mqttUrl: string;
  readonly protocolVersion: MqttProtocolVersion;
  readonly backoff?: BackoffPolicy | undefined;
}

/** Gives up on a polite DISCONNECT after this long and drops the connection. */
const CLOSE_GRACE_MS = 1_000;

/**
 * The two kinds of MQTT clients MCS devices ran: MediaTek's C clients and Paho with
 * `MQTTVersion=3` speak MQTT 3.1 with a 10 s keepalive; mqtt.js and paho-python speak 3.1.1 with
 * 60 s. Both use a clean session, no user name or password, and a fixed client id.
 */
const clientProfiles: Record<MqttProtocolVersion, Pick<IClientOptions, 'protocolId' | 'keepalive'>> = {
  3: { protocolId: 'MQIsdp', keepalive: 10 },
  4: { protocolId: 'MQTT', keepalive: 60 },
};

/**
 * An MQTT session as real MCS clients hold one: connect, subscribe `mcs/ID/KEY/+`, read FOTA
 * payloads from `mcs/ID/KEY/FOTA`, publish data points to `mcs/ID/KEY/<channel>`. When the
 * connection drops it connects again after the same back-off as TCP devices (mqtt.js's own fixed
 * reconnect period is turned off).
 */
export class MqttLink implements CommandLink {
  readonly protocol = 'mqtt' as const;
  readonly heartbeats = 0;
  private readonly stopping = new AbortController();
  private readonly backoff: Backoff;
  private readonly topic: string;
  private client: MqttClient | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly options: MqttLinkOptions,
    private readonly handlers: LinkHandlers,
  ) {
    this.backoff = new Backoff(options.backoff ?? defaultBackoff);
    this.topic = `mcs/${options.deviceId}/${options.deviceKey}`;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Publishes `,status,fotaing` to `mcs/ID/KEY/status`: the channel is the topic's last level. */
  async sendFotaingStatus(): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('not connected to the MQTT broker');
    await client.publishAsync(`${this.topic}/${FOTAING_CHANNEL}`, `,${FOTAING_CHANNEL},${FOTAING_VALUE}`, { qos: 0 });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    const client = this.client;
    if (client) {
      await new Promise<void>((resolve) => {
        // A polite DISCONNECT once connected; a connection still being made is simply dropped.
        const timer = setTimeout(() => client.end(true, () => resolve()), CLOSE_GRACE_MS);
        client.end(!client.connected, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.running;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    // Loaded on first use, so that the other commands of the CLI work without the package.
    const { connect } = await import('mqtt');
    while (!signal.aborted) {
      const started = Date.now();
      const reason = await this.session(connect);
      if (signal.aborted) return;
      this.backoff.ended(Date.now() - started);
      const wait = this.backoff.next();
      this.handlers.disconnected(reason, wait);
      if (!(await pause(wait, signal))) return;
    }
  }

  /** One connection, from CONNECT to close; resolves with why it ended. */
  private session(connect: (url: string, options: IClientOptions) => MqttClient): Promise<string> {
    const { deviceId, mqttUrl, protocolVersion } = this.options;
    const client = connect(mqttUrl, {
      ...clientProfiles[protocolVersion],
      protocolVersion,
      clientId: `fota-sim-${deviceId}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    this.client = client;
    let reason = 'closed by the broker';

    client.on('connect', () => {
      client.subscribe(`${this.topic}/+`, { qos: 1 }, (error, granted) => {
        if (this.stopping.signal.aborted) return;
        if (error || granted?.some((grant) => grant.qos === 128)) {
          // The topic holds the device key: the message names it without.
          reason = `subscription to mcs/${this.options.deviceId}/<deviceKey>/+ refused${error ? `: ${describe(error)}` : ''}`;
          this.handlers.problem(reason);
          client.end(true);
          return;
        }
        this.handlers.connected();
      });
    });
    client.on('message', (topic, payload) => {
      if (this.stopping.signal.aborted || !topic.startsWith(`${this.topic}/`)) return;
      const message = classifyMqttPayload(payload);
      if (message.kind === 'fota') this.handlers.fota(message.fota);
      else if (message.kind === 'malformed-fota') this.handlers.malformedFota(message.version, message.text);
    });
    client.on('error', (error) => {
      reason = describe(error);
    });
    return new Promise((resolve) => {
      // `close` ends a connection that was up or being made; `end` follows `client.end()`, even
      // when no connection ever opened.
      client.once('close', () => {
        if (!this.stopping.signal.aborted) client.end(true);
        resolve(this.stopping.signal.aborted ? 'stopped' : reason);
      });
      client.once('end', () => resolve(this.stopping.signal.aborted ? 'stopped' : reason));
    });
  }
}
