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
 * `timestamp,FOTA,version,MD5,URL` on `mcs/ID/KEY/FOTA` over MQTT, where URL is `urlBase` + the
 * device id and the timestamp has 13 digits and is not older than `notBefore`.
 */
export interface FotaExpectation {
  readonly version: string;
  readonly md5: string;
  readonly urlBase: string;
  readonly notBefore: number;
}

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
  | { readonly seq: number; readonly cmd: 'close' };

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
