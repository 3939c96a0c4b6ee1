/**
 * What the bench process and its swarm processes say to each other: one JSON object per line on a
 * loopback control socket. The bench sends commands with a sequence number; a swarm answers each
 * with the same number, and sends events (without one) when something happens by itself.
 */

export type Protocol = 'tcp' | 'mqtt';

export interface SwarmDevice {
  readonly id: string;
  readonly key: string;
  readonly protocol: Protocol;
}

/** Where the swarm connects: the fota server, or mosquitto (MQTT only). */
export interface SwarmTarget {
  readonly host: string;
  readonly tcpPort: number;
  readonly mqttPort: number;
}

/**
 * The FOTA message each device must receive: `ID,KEY,timestamp,FOTA,version,MD5,URL` over TCP,
 * `timestamp,FOTA,version,MD5,URL` on `mcs/ID/KEY/FOTA` over MQTT, where URL is `urlPrefix` + a
 * download token of DOWNLOAD_TOKEN_LENGTH letters and digits (one per device; the bench checks that
 * they are distinct) and the timestamp has 13 digits and is not older than `notBefore`.
 */
export interface FotaExpectation {
  readonly version: string;
  readonly md5: string;
  /** `{publicUrl}/fw/p/` */
  readonly urlPrefix: string;
  readonly notBefore: number;
}

/** Letters and digits of the token that ends a pushed URL (src/domain/push/planner.ts). */
export const DOWNLOAD_TOKEN_LENGTH = 21;
export const DOWNLOAD_TOKEN = /^[A-Za-z0-9]{21}$/;

export type MqttClientKind = 'lean' | 'mqttjs';

export interface ConnectOptions {
  readonly target: SwarmTarget;
  readonly devices: readonly SwarmDevice[];
  /**
   * Source address of every connection of this swarm (127.0.0.x), or undefined to let connect()
   * choose the port: an explicit address makes Node bind() first, and bind() scans for a free port
   * (TIME_WAIT ones included), which costs a lot of kernel time with thousands of sockets.
   */
  readonly localAddress: string | undefined;
  /** Connections being opened at once, at most. */
  readonly concurrency: number;
  /** Each connection must be acknowledged (heartbeat echo, SUBACK) within this time. */
  readonly ackTimeoutMs: number;
  /** Stop opening connections after the first failure (the connection-limit ramp). */
  readonly stopOnFailure: boolean;
  readonly mqttClient: MqttClientKind;
  readonly keepaliveS: number;
  /** Keep the devices already connected and add these (the fleet connects TCP, then MQTT). */
  readonly append?: boolean;
}

/**
 * What the probe process measures: one request in flight per kind, the next sent `intervalMs` after
 * the previous was sent, or at once when its answer came later. The answer time of each is a sample.
 */
export interface ProbeOptions {
  readonly intervalMs: number;
  /** `GET url` on one keep-alive connection, one every `http.intervalMs`. */
  readonly http?: { readonly url: string; readonly intervalMs: number };
  /** PINGREQ to PINGRESP on one MQTT connection, subscribed to the device's topic when it has one. */
  readonly mqtt?: { readonly host: string; readonly port: number; readonly device?: SwarmDevice };
  /**
   * Heartbeat `ID,KEY,0` to its echo, on these TCP devices in turn, one every `tcp.intervalMs`: each
   * device waits at least `devices.length × tcp.intervalMs` between two, more than the write gap.
   */
  readonly tcp?: {
    readonly host: string;
    readonly port: number;
    readonly devices: readonly SwarmDevice[];
    readonly intervalMs: number;
  };
}

export type ProbeKind = 'http' | 'mqtt' | 'tcp';

export interface ProbeSample {
  /** Date.now() when the request was sent. */
  readonly at: number;
  /** Milliseconds to its answer (performance.now()). */
  readonly ms: number;
}

export interface ProbeResult {
  readonly samples: Partial<Record<ProbeKind, readonly ProbeSample[]>>;
  /** Milliseconds the request still in flight had waited when the probe stopped, if more than the interval. */
  readonly unanswered: Partial<Record<ProbeKind, number>>;
  readonly errors: readonly string[];
}

export type Command =
  | {
      readonly seq: number;
      readonly cmd: 'report';
      readonly url: string;
      readonly version: string;
      readonly devices: readonly SwarmDevice[];
      readonly concurrency: number;
    }
  | ({ readonly seq: number; readonly cmd: 'connect' } & ConnectOptions)
  | { readonly seq: number; readonly cmd: 'expect'; readonly fota: FotaExpectation }
  | { readonly seq: number; readonly cmd: 'collect' }
  | { readonly seq: number; readonly cmd: 'heartbeats'; readonly periodMs: number }
  | { readonly seq: number; readonly cmd: 'stats' }
  | { readonly seq: number; readonly cmd: 'storm'; readonly ackTimeoutMs: number }
  | { readonly seq: number; readonly cmd: 'close' }
  | { readonly seq: number; readonly cmd: 'probe-start'; readonly probe: ProbeOptions }
  | { readonly seq: number; readonly cmd: 'probe-stop' };

export type CommandName = Command['cmd'];

export interface ConnectResult {
  readonly connected: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  readonly seconds: number;
}

export interface Receipt {
  readonly id: string;
  readonly protocol: Protocol;
  /** Date.now() when the whole, well-formed FOTA message had arrived. */
  readonly at: number;
  /** The download token that ends its URL. */
  readonly token: string;
  /** Date.now() of the last heartbeat echo this TCP device read before it (the write gap holds a command after an echo). */
  readonly lastEchoAt: number | undefined;
}

export interface CollectResult {
  readonly receipts: readonly Receipt[];
  /** Malformed, duplicated or unexpected messages, described. */
  readonly bad: readonly string[];
}

export interface SwarmStats {
  readonly open: number;
  readonly heartbeatsSent: number;
  readonly echoesReceived: number;
  readonly pingsSent: number;
  /** Connections closed by the other side, or socket errors, after they were acknowledged. */
  readonly dropped: number;
  readonly firstDrop: string | undefined;
  readonly bad: number;
  /** The longest time between two runs of the swarm's 100 ms ticker (its heartbeats and pings come that late). */
  readonly longestTickGapMs: number;
}

export interface StormResult {
  readonly reconnected: number;
  /** Failed attempts (each retried at once, as mcs.c does) and devices that never came back. */
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly missing: number;
  /** Date.now() when the last device of this swarm was acknowledged again. */
  readonly lastAckAt: number;
}

/** Events a swarm sends by itself. */
export type SwarmEvent =
  | { readonly event: 'hello'; readonly index: number }
  /** Every device with an expectation received its FOTA message. */
  | { readonly event: 'all-received'; readonly count: number }
  | { readonly event: 'progress'; readonly what: string; readonly done: number };

export type SwarmMessage =
  | SwarmEvent
  | { readonly seq: number; readonly ok: true; readonly result: unknown }
  | { readonly seq: number; readonly ok: false; readonly error: string };
