/**
 * A swarm process of bench:push: holds a share of the simulated devices, each on its own TCP socket
 * (MCS heartbeats `ID,KEY,0`) or MQTT connection (subscribed to `mcs/ID/KEY/+`), and does what the
 * bench process asks on the control socket (see protocol.ts). It checks every FOTA message byte for
 * byte and records Date.now() when it has arrived whole.
 * Usage: swarm.ts CONTROL_PORT INDEX. It ends when the control socket closes, or on SIGTERM.
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';
import { LeanMqttClient, type IncomingPublish } from './lean-mqtt.js';
import { Probe } from './probe.js';
import {
  DOWNLOAD_TOKEN,
  DOWNLOAD_TOKEN_LENGTH,
  type CollectResult,
  type Command,
  type ConnectOptions,
  type ConnectResult,
  type FotaExpectation,
  type Protocol,
  type Receipt,
  type StormResult,
  type SwarmDevice,
  type SwarmMessage,
  type SwarmStats,
} from './protocol.js';

const [portText, indexText] = process.argv.slice(2);
if (portText === undefined || indexText === undefined) {
  process.stderr.write('usage: swarm.ts CONTROL_PORT INDEX\n');
  process.exit(2);
}
const swarmIndex = Number(indexText);

/** Heartbeats and pings are sent by one ticker per swarm, in slots of this length. */
const TICK_MS = 100;
/** At most this many problems are kept word for word; the rest are only counted. */
const MAX_BAD_KEPT = 20;
const TIMESTAMP_DIGITS = 13;

interface Link {
  readonly protocol: Protocol;
  /** Closes on purpose: not counted as a drop. */
  close(): void;
  heartbeat(): void;
  ping(): void;
}

/** One simulated device and its current connection. */
class DeviceState {
  link: Link | undefined;
  receipt: number | undefined;
  token = '';
  /** Date.now() of the last heartbeat echo read (TCP). */
  lastEchoAt: number | undefined;
  /** `lastEchoAt` when the FOTA message arrived. */
  echoBeforeReceipt: number | undefined;
  /** Date.now() of the last PINGREQ sent (or of the connection), MQTT. */
  /** When the last heartbeat (TCP) or ping (MQTT) went out. */
  lastBeatAt = Date.now();
  constructor(
    readonly device: SwarmDevice,
    readonly slot: number,
  ) {}
}

let devices: DeviceState[] = [];
let connectOptions: ConnectOptions | undefined;
let expectation: FotaExpectation | undefined;
let expected = 0;
let received = 0;
const badKept: string[] = [];
let badCount = 0;
const counters = { heartbeatsSent: 0, echoesReceived: 0, pingsSent: 0, dropped: 0 };
let firstDrop: string | undefined;
let heartbeatPeriodMs = 0;
let tickCount = 0;
/** When the ticker last ran, and the longest time between two of its runs (TICK_MS when on time). */
let lastTickAt = 0;
let longestTickGapMs = 0;
let ticker: ReturnType<typeof setInterval> | undefined;

function send(message: SwarmMessage): void {
  control.write(`${JSON.stringify(message)}\n`);
}

function bad(problem: string): void {
  badCount++;
  if (badKept.length < MAX_BAD_KEPT) badKept.push(`swarm ${swarmIndex}: ${problem}`);
}

function dropped(state: DeviceState, reason: string): void {
  counters.dropped++;
  firstDrop ??= `${state.device.id} (${state.device.protocol}): ${reason}`;
}

/** The FOTA payload after `timestamp,` up to the download token, the same over TCP (after `ID,KEY,`) and MQTT. */
function fotaTail(fota: FotaExpectation): string {
  return `,FOTA,${fota.version},${fota.md5},${fota.urlPrefix}`;
}

/** What is wrong with `rest` (the tail, then the token), or undefined. */
function checkTail(rest: string, tail: string): string | undefined {
  if (!rest.startsWith(tail)) return `differs from "<13 digits>${tail}<token>"`;
  const token = rest.slice(tail.length);
  return DOWNLOAD_TOKEN.test(token) ? undefined : `token "${token}" is not ${DOWNLOAD_TOKEN_LENGTH} letters and digits`;
}

function checkTimestamp(text: string, fota: FotaExpectation, now: number): string | undefined {
  if (!/^\d{13}$/.test(text)) return `timestamp "${text}" is not 13 digits`;
  const value = Number(text);
  if (value < fota.notBefore - 5 || value > now + 5) {
    return `timestamp ${value} is outside ${fota.notBefore}..${now}`;
  }
  return undefined;
}

function recordReceipt(state: DeviceState, at: number, token: string): void {
  if (state.receipt !== undefined) {
    bad(`${state.device.id}: a second FOTA message`);
    return;
  }
  state.receipt = at;
  state.token = token;
  state.echoBeforeReceipt = state.lastEchoAt;
  received++;
  if (received === expected) send({ event: 'all-received', count: received });
}

/** Reads what the TCP command server writes: heartbeat echoes and at most one FOTA line, with no delimiter. */
class TcpReader {
  private buffer = '';
  private readonly echo: string;
  private readonly prefix: string;

  constructor(
    private readonly state: DeviceState,
    private readonly onEcho: () => void,
  ) {
    this.echo = `${state.device.id},${state.device.key},0`;
    this.prefix = `${state.device.id},${state.device.key},`;
  }

  feed(chunk: Buffer): void {
    const at = Date.now();
    this.buffer += chunk.toString('latin1');
    while (this.buffer.length > 0) {
      if (this.buffer.startsWith(this.echo)) {
        this.buffer = this.buffer.slice(this.echo.length);
        counters.echoesReceived++;
        this.state.lastEchoAt = at;
        this.onEcho();
        continue;
      }
      // Part of an echo, or of the `ID,KEY,` both start with: wait for more.
      if (this.echo.startsWith(this.buffer)) return;
      const fota = expectation;
      if (fota === undefined || !this.buffer.startsWith(this.prefix)) {
        bad(`${this.state.device.id}: unexpected bytes ${JSON.stringify(this.buffer.slice(0, 80))}`);
        this.buffer = '';
        return;
      }
      const tail = fotaTail(fota);
      const length = this.prefix.length + TIMESTAMP_DIGITS + tail.length + DOWNLOAD_TOKEN_LENGTH;
      if (this.buffer.length < length) return;
      const line = this.buffer.slice(0, length);
      this.buffer = this.buffer.slice(length);
      const timestamp = line.slice(this.prefix.length, this.prefix.length + TIMESTAMP_DIGITS);
      const tailProblem = checkTail(line.slice(this.prefix.length + TIMESTAMP_DIGITS), tail);
      const problem = tailProblem
        ? `FOTA line ${JSON.stringify(line)} ${tailProblem}`
        : Buffer.byteLength(line) >= 200
          ? `FOTA line of ${Buffer.byteLength(line)} bytes`
          : checkTimestamp(timestamp, fota, at);
      if (problem) bad(`${this.state.device.id} (tcp): ${problem}`);
      else recordReceipt(this.state, at, line.slice(length - DOWNLOAD_TOKEN_LENGTH));
    }
  }
}

function checkMqttFota(state: DeviceState, publish: IncomingPublish): void {
  const at = Date.now();
  const { id, key } = state.device;
  const fota = expectation;
  const payload = publish.payload.toString('utf8');
  if (fota === undefined) {
    bad(`${id} (mqtt): unexpected message on ${publish.topic}`);
    return;
  }
  const tail = fotaTail(fota);
  const tailProblem =
    payload.length === TIMESTAMP_DIGITS + tail.length + DOWNLOAD_TOKEN_LENGTH
      ? checkTail(payload.slice(TIMESTAMP_DIGITS), tail)
      : `has ${payload.length} characters`;
  const problem =
    publish.topic !== `mcs/${id}/${key}/FOTA`
      ? `topic ${publish.topic}`
      : publish.qos !== 1
        ? `QoS ${publish.qos}`
        : publish.retain
          ? 'retained'
          : tailProblem
            ? `payload ${JSON.stringify(payload)} ${tailProblem}`
            : checkTimestamp(payload.slice(0, TIMESTAMP_DIGITS), fota, at);
  if (problem) bad(`${id} (mqtt): ${problem}`);
  else recordReceipt(state, at, payload.slice(-DOWNLOAD_TOKEN_LENGTH));
}

/** Opens one connection and resolves once the other side acknowledged it. */
function openLink(state: DeviceState, options: ConnectOptions): Promise<Link> {
  if (state.device.protocol === 'tcp') return openTcp(state, options);
  return options.mqttClient === 'lean' ? openLeanMqtt(state, options) : openMqttJs(state, options);
}

function openTcp(state: DeviceState, options: ConnectOptions): Promise<Link> {
  const { id, key } = state.device;
  const heartbeat = `${id},${key},0`;
  return new Promise((resolve, reject) => {
    let acked = false;
    let closing = false;
    let lastError = '';
    const socket = connect({
      host: options.target.host,
      port: options.target.tcpPort,
      localAddress: options.localAddress,
      noDelay: true,
    });
    const timer = setTimeout(() => {
      lastError = `no heartbeat echo within ${options.ackTimeoutMs} ms`;
      socket.destroy();
    }, options.ackTimeoutMs);
    const link: Link = {
      protocol: 'tcp',
      close() {
        closing = true;
        socket.destroy();
      },
      heartbeat() {
        if (closing || !socket.writable) return;
        counters.heartbeatsSent++;
        socket.write(heartbeat);
      },
      ping() {},
    };
    const reader = new TcpReader(state, () => {
      if (acked) return;
      acked = true;
      clearTimeout(timer);
      resolve(link);
    });
    socket.once('connect', () => {
      counters.heartbeatsSent++;
      socket.write(heartbeat);
    });
    socket.on('data', (chunk: Buffer) => reader.feed(chunk));
    socket.on('error', (error) => (lastError = error.message));
    socket.once('close', () => {
      clearTimeout(timer);
      if (!acked) reject(new Error(`${id} (tcp): ${lastError || 'closed before the heartbeat echo'}`));
      else if (!closing) dropped(state, lastError || 'closed by the server');
    });
  });
}

function openLeanMqtt(state: DeviceState, options: ConnectOptions): Promise<Link> {
  const { id, key } = state.device;
  return new Promise((resolve, reject) => {
    let acked = false;
    let closing = false;
    const fail = (reason: string) => {
      if (acked) return;
      client.destroy();
      clearTimeout(timer);
      reject(new Error(`${id} (mqtt): ${reason}`));
    };
    const client: LeanMqttClient = new LeanMqttClient(
      {
        host: options.target.host,
        port: options.target.mqttPort,
        localAddress: options.localAddress,
        clientId: `bench-${id}`,
        keepaliveS: options.keepaliveS,
      },
      {
        onConnack: (code) => (code === 0 ? client.subscribe(1, `mcs/${id}/${key}/+`, 1) : fail(`CONNACK code ${code}`)),
        onSuback: (_packetId, granted) => {
          if (granted[0] !== 1) {
            fail(`SUBACK granted ${granted.join(',')}`);
            return;
          }
          acked = true;
          clearTimeout(timer);
          resolve(link);
        },
        onPublish: (publish) => checkMqttFota(state, publish),
        onPuback: () => bad(`${id} (mqtt): unexpected PUBACK`),
        onProblem: (problem) => bad(`${id} (mqtt): ${problem}`),
        onClose: (reason) => {
          if (!acked) fail(reason);
          else if (!closing) dropped(state, reason);
        },
      },
    );
    const timer = setTimeout(() => fail(`no SUBACK within ${options.ackTimeoutMs} ms`), options.ackTimeoutMs);
    const link: Link = {
      protocol: 'mqtt',
      close() {
        closing = true;
        client.destroy();
      },
      heartbeat() {},
      ping() {
        counters.pingsSent++;
        client.ping();
      },
    };
  });
}

function openMqttJs(state: DeviceState, options: ConnectOptions): Promise<Link> {
  const { id, key } = state.device;
  return new Promise((resolve, reject) => {
    let acked = false;
    let closing = false;
    let lastError = '';
    const client = new mqtt.MqttClient(
      () =>
        connect({
          host: options.target.host,
          port: options.target.mqttPort,
          localAddress: options.localAddress,
          noDelay: true,
        }),
      {
        protocolVersion: 4,
        clientId: `bench-${id}`,
        clean: true,
        keepalive: options.keepaliveS,
        reconnectPeriod: 0,
        connectTimeout: options.ackTimeoutMs,
      },
    );
    const timer = setTimeout(() => {
      lastError = `no SUBACK within ${options.ackTimeoutMs} ms`;
      client.end(true);
    }, options.ackTimeoutMs);
    const link: Link = {
      protocol: 'mqtt',
      close() {
        closing = true;
        client.end(true);
      },
      heartbeat() {},
      ping() {},
    };
    client.once('connect', () => {
      client.subscribe(`mcs/${id}/${key}/+`, { qos: 1 }, (error, granted) => {
        if (error || granted?.[0]?.qos !== 1) {
          lastError = error ? error.message : `SUBACK granted ${JSON.stringify(granted)}`;
          client.end(true);
          return;
        }
        acked = true;
        clearTimeout(timer);
        resolve(link);
      });
    });
    client.on('message', (topic, payload, packet) =>
      checkMqttFota(state, { topic, payload, qos: packet.qos, retain: packet.retain, dup: packet.dup }),
    );
    client.on('error', (error) => (lastError = error.message));
    client.once('close', () => {
      clearTimeout(timer);
      if (!acked) reject(new Error(`${id} (mqtt): ${lastError || 'closed before the SUBACK'}`));
      else if (!closing) dropped(state, lastError || 'closed by the broker');
    });
  });
}

/** Sends each TCP device's heartbeat once per period and each lean MQTT client's ping once per keepalive, spread over the period. */
function tick(): void {
  tickCount++;
  const heartbeatSlots = heartbeatPeriodMs > 0 ? Math.max(1, Math.round(heartbeatPeriodMs / TICK_MS)) : 0;
  const keepaliveS = connectOptions?.keepaliveS ?? 0;
  const pingSlots = keepaliveS > 0 ? Math.max(1, Math.round((keepaliveS * 1000 * 0.9) / TICK_MS)) : 0;
  const now = Date.now();
  if (lastTickAt > 0) longestTickGapMs = Math.max(longestTickGapMs, now - lastTickAt);
  lastTickAt = now;
  for (const state of devices) {
    const link = state.link;
    if (!link) continue;
    // Its slot, or by the clock once a period (TCP) or half the keepalive (MQTT) passed without one:
    // ticks come late on a loaded machine, and a device that counts ticks goes silent for too long.
    if (link.protocol === 'tcp') {
      if (
        heartbeatSlots > 0 &&
        (state.slot % heartbeatSlots === tickCount % heartbeatSlots || now - state.lastBeatAt > heartbeatPeriodMs)
      ) {
        state.lastBeatAt = now;
        link.heartbeat();
      }
    } else if (
      pingSlots > 0 &&
      (state.slot % pingSlots === tickCount % pingSlots || now - state.lastBeatAt > keepaliveS * 500)
    ) {
      state.lastBeatAt = now;
      link.ping();
    }
  }
}

async function connectAll(options: ConnectOptions): Promise<ConnectResult> {
  const added = options.devices.map((device, i) => new DeviceState(device, i + (options.append ? devices.length : 0)));
  if (options.append) {
    devices = [...devices, ...added];
  } else {
    for (const state of devices) state.link?.close();
    devices = added;
  }
  connectOptions = options;
  ticker ??= setInterval(tick, TICK_MS);
  const start = Date.now();
  let next = 0;
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  let stop = false;
  const worker = async () => {
    while (!stop && next < added.length) {
      const state = added[next++]!;
      try {
        state.link = await openLink(state, options);
        connected++;
        if (connected % 1000 === 0) send({ event: 'progress', what: 'connected', done: connected });
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
        if (options.stopOnFailure) stop = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return { connected, failed, firstError, seconds: (Date.now() - start) / 1000 };
}

/** Every device drops its connection at once and reconnects at once, retrying at once on failure. */
async function storm(ackTimeoutMs: number): Promise<StormResult> {
  const options = connectOptions;
  if (!options) throw new Error('storm before connect');
  const live = devices.filter((state) => state.link !== undefined);
  for (const state of live) {
    state.link!.close();
    state.link = undefined;
  }
  const deadline = Date.now() + ackTimeoutMs;
  let errors = 0;
  let firstError: string | undefined;
  let lastAckAt = 0;
  let reconnected = 0;
  await Promise.all(
    live.map(async (state) => {
      while (Date.now() < deadline) {
        try {
          state.link = await openLink(state, { ...options, ackTimeoutMs: Math.max(1, deadline - Date.now()) });
          reconnected++;
          lastAckAt = Math.max(lastAckAt, Date.now());
          return;
        } catch (error) {
          errors++;
          firstError ??= (error as Error).message;
        }
      }
    }),
  );
  return { reconnected, errors, firstError, missing: live.length - reconnected, lastAckAt };
}

function stats(): SwarmStats {
  return {
    open: devices.filter((state) => state.link !== undefined).length,
    ...counters,
    firstDrop,
    bad: badCount,
    longestTickGapMs,
  };
}

/** Each device reports its firmware version, as a device does at boot: PUT /mcs/v2/devices/:id/firmwares. */
async function report(
  url: string,
  version: string,
  list: readonly SwarmDevice[],
  concurrency: number,
): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const device = list[next++]!;
      const response = await fetch(`${url}/mcs/v2/devices/${device.id}/firmwares`, {
        method: 'PUT',
        headers: { deviceKey: device.key, 'content-type': 'application/json' },
        body: JSON.stringify({ version }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`reporting ${device.id} answered ${response.status}: ${text}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return list.length;
}

async function run(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'report':
      return report(command.url, command.version, command.devices, command.concurrency);
    case 'connect':
      return connectAll(command);
    case 'expect':
      expectation = command.fota;
      received = 0;
      expected = devices.filter((state) => state.link !== undefined).length;
      for (const state of devices) state.receipt = undefined;
      badKept.length = 0;
      badCount = 0;
      return expected;
    case 'collect': {
      const receipts: Receipt[] = [];
      for (const state of devices) {
        if (state.receipt === undefined) continue;
        receipts.push({
          id: state.device.id,
          protocol: state.device.protocol,
          at: state.receipt,
          token: state.token,
          lastEchoAt: state.echoBeforeReceipt,
        });
      }
      const missing = devices.filter((state) => state.link !== undefined && state.receipt === undefined).length;
      const result: CollectResult = {
        receipts,
        bad: [
          ...badKept,
          ...(badCount > badKept.length ? [`… ${badCount - badKept.length} more`] : []),
          ...(missing > 0 ? [`swarm ${swarmIndex}: ${missing} devices received nothing`] : []),
        ],
      };
      return result;
    }
    case 'heartbeats':
      heartbeatPeriodMs = command.periodMs;
      return heartbeatPeriodMs;
    case 'stats':
      return stats();
    case 'storm':
      return storm(command.ackTimeoutMs);
    case 'close':
      for (const state of devices) {
        state.link?.close();
        state.link = undefined;
      }
      return stats();
    case 'probe-start':
      probe?.stop();
      probe = await Probe.start(command.probe);
      return true;
    case 'probe-stop': {
      const result = probe?.stop();
      probe = undefined;
      return result ?? { samples: {}, unanswered: {}, errors: ['no probe was running'] };
    }
  }
}

let probe: Probe | undefined;

function shutdown(): void {
  probe?.stop();
  for (const state of devices) state.link?.close();
  process.exit(0);
}

const control: Socket = connect({ host: '127.0.0.1', port: Number(portText) });
control.setNoDelay(true);
control.once('connect', () => send({ event: 'hello', index: swarmIndex }));
control.on('error', () => shutdown());
control.on('close', () => shutdown());
createInterface({ input: control }).on('line', (line) => {
  const command = JSON.parse(line) as Command;
  run(command).then(
    (result) => send({ seq: command.seq, ok: true, result }),
    (error: unknown) =>
      send({ seq: command.seq, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
