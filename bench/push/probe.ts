/**
 * The probe of bench:push, run in a swarm process of its own: it times how long a server takes to
 * answer while a push runs. A server whose event loop is blocked answers nothing until the block
 * ends, so the longest answer time is the longest block a client could see (to the probe interval).
 * One request is in flight per kind; the next goes out `intervalMs` after the previous one went out,
 * or at once when the answer came later.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { LeanMqttClient } from './lean-mqtt.js';
import type { ProbeKind, ProbeOptions, ProbeResult, ProbeSample, SwarmDevice } from './protocol.js';

const CONNECT_TIMEOUT_MS = 30_000;

/** One kind of request, sent in a loop: `send` resolves when the answer came. */
class Loop {
  readonly samples: ProbeSample[] = [];
  private stopped = false;
  private inFlightSince: number | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly send: () => Promise<void>,
    private readonly onError: (error: Error) => void,
  ) {}

  run(): void {
    void (async () => {
      while (!this.stopped) {
        const at = Date.now();
        const start = performance.now();
        this.inFlightSince = start;
        try {
          await this.send();
        } catch (error) {
          this.onError(error as Error);
          return;
        }
        this.inFlightSince = undefined;
        if (this.stopped) return;
        const ms = performance.now() - start;
        this.samples.push({ at, ms });
        const wait = this.intervalMs - ms;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
  }

  /** Stops; answers how long the request in flight has waited, if one is. */
  stop(): number | undefined {
    this.stopped = true;
    return this.inFlightSince === undefined ? undefined : performance.now() - this.inFlightSince;
  }
}

function httpProbe(url: string): { send: () => Promise<void>; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { agent, timeout: 60_000 }, (response) => {
        response.resume();
        response.once('end', () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`${url} answered ${response.statusCode}`)),
        );
      });
      req.once('timeout', () => req.destroy(new Error(`${url} did not answer within 60 s`)));
      req.once('error', reject);
      req.end();
    });
  return { send, close: () => agent.destroy() };
}

async function mqttProbe(
  options: NonNullable<ProbeOptions['mqtt']>,
  onClose: (reason: string) => void,
): Promise<{ send: () => Promise<void>; close: () => void }> {
  let answered: (() => void) | undefined;
  let ready: (() => void) | undefined;
  let failed: ((error: Error) => void) | undefined;
  const connected = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const device = options.device;
  const client: LeanMqttClient = new LeanMqttClient(
    { host: options.host, port: options.port, clientId: `bench-probe-${device?.id ?? 'anonymous'}`, keepaliveS: 0 },
    {
      onConnack: (code) => {
        if (code !== 0) failed?.(new Error(`probe CONNACK code ${code}`));
        else if (device) client.subscribe(1, `mcs/${device.id}/${device.key}/+`, 1);
        else ready?.();
      },
      onSuback: (_packetId, granted) =>
        granted[0] === 1 ? ready?.() : failed?.(new Error(`probe SUBACK granted ${granted.join(',')}`)),
      onPublish: () => undefined,
      onPuback: () => undefined,
      onProblem: (problem) => failed?.(new Error(`probe: ${problem}`)),
      onPingresp: () => {
        const done = answered;
        answered = undefined;
        done?.();
      },
      onClose: (reason) => {
        failed?.(new Error(`probe: ${reason}`));
        onClose(`MQTT probe closed: ${reason}`);
      },
    },
  );
  const timer = setTimeout(
    () => failed?.(new Error('the MQTT probe was not accepted within 30 s')),
    CONNECT_TIMEOUT_MS,
  );
  try {
    await connected;
  } finally {
    clearTimeout(timer);
  }
  return {
    send: () =>
      new Promise<void>((resolve) => {
        answered = resolve;
        client.ping();
      }),
    close: () => client.destroy(),
  };
}

/** A TCP device socket that resolves `heartbeat()` with the echo. */
function tcpDevice(
  host: string,
  port: number,
  device: SwarmDevice,
): Promise<{ socket: Socket; heartbeat: () => Promise<void> }> {
  const line = `${device.id},${device.key},0`;
  let buffer = '';
  let answered: (() => void) | undefined;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    const timer = setTimeout(() => socket.destroy(new Error(`${device.id}: no echo within 30 s`)), CONNECT_TIMEOUT_MS);
    const heartbeat = () =>
      new Promise<void>((done) => {
        answered = done;
        socket.write(line);
      });
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      while (buffer.startsWith(line)) {
        buffer = buffer.slice(line.length);
        const done = answered;
        answered = undefined;
        done?.();
      }
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      void heartbeat().then(() => {
        clearTimeout(timer);
        resolve({ socket, heartbeat });
      });
    });
  });
}

export class Probe {
  private readonly errors: string[] = [];
  private readonly loops = new Map<ProbeKind, Loop>();
  private readonly closers: (() => void)[] = [];

  private constructor(private readonly options: ProbeOptions) {}

  /** Connects every kind of probe, then starts them. */
  static async start(options: ProbeOptions): Promise<Probe> {
    const probe = new Probe(options);
    const error = (kind: ProbeKind) => (failure: Error) => probe.errors.push(`${kind}: ${failure.message}`);
    if (options.http) {
      const http = httpProbe(options.http.url);
      probe.closers.push(http.close);
      probe.loops.set('http', new Loop(options.http.intervalMs, http.send, error('http')));
    }
    if (options.mqtt) {
      const mqtt = await mqttProbe(options.mqtt, (reason) => probe.errors.push(reason));
      probe.closers.push(mqtt.close);
      probe.loops.set('mqtt', new Loop(options.intervalMs, mqtt.send, error('mqtt')));
    }
    if (options.tcp) {
      const { host, port } = options.tcp;
      const sockets = await Promise.all(options.tcp.devices.map((device) => tcpDevice(host, port, device)));
      for (const { socket } of sockets) probe.closers.push(() => socket.destroy());
      let next = 0;
      const send = () => sockets[next++ % sockets.length]!.heartbeat();
      probe.loops.set('tcp', new Loop(options.tcp.intervalMs, send, error('tcp')));
    }
    for (const loop of probe.loops.values()) loop.run();
    return probe;
  }

  stop(): ProbeResult {
    const samples: Partial<Record<ProbeKind, readonly ProbeSample[]>> = {};
    const unanswered: Partial<Record<ProbeKind, number>> = {};
    for (const [kind, loop] of this.loops) {
      const waiting = loop.stop();
      samples[kind] = loop.samples;
      if (waiting !== undefined && waiting > this.options.intervalMs) unanswered[kind] = waiting;
    }
    for (const close of this.closers.splice(0)) close();
    return { samples, unanswered, errors: this.errors };
  }
}
