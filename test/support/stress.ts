import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { startChildServer, type ChildServer } from './child-server.js';
import { testEnvironment } from './server.js';

/** Every fuzz round uses this seed: a failure replays the same cases. */
export const STRESS_SEED = 20261201;

/**
 * Fuzz rounds send thousands of wrong keys from one address on purpose: the throttle of failed
 * authentication (tested on its own in the integration tier) is opened wide so that each case
 * reaches the parsers, and the valid device still gets in after the round.
 */
export const STRESS_ENV = { FOTA_AUTH_FAILURE_BURST: '1000000', FOTA_AUTH_FAILURES_PER_MINUTE: '1000000' };

export interface StressServer {
  readonly child: ChildServer;
  readonly env: Record<string, string>;
  readonly tcpPort: number;
  readonly mqttPort: number;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** A prototype with one device, made through the management API. */
  newDevice(name: string): Promise<StressDevice>;
  /** Resident memory of the server process, in MiB. */
  rssMiB(): Promise<number>;
  alive(): boolean;
}

/** `fota serve` as its own process on loopback, as in production. */
export async function startStressServer(extra: Record<string, string> = {}): Promise<StressServer> {
  const env = await testEnvironment({ ...STRESS_ENV, ...extra });
  const child = await startChildServer(env);
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${child.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  return {
    child,
    env,
    tcpPort: Number(env['FOTA_TCP_PORT']),
    mqttPort: Number(env['FOTA_MQTT_PORT']),
    api,
    async newDevice(name) {
      const pid = (await api('POST', '/prototypes', { name })).body.prototypeId;
      return (await api('POST', `/prototypes/${pid}/devices`, { name })).body;
    },
    rssMiB: () => rssMiB(child.process.pid!),
    alive: () => child.process.exitCode === null && child.process.signalCode === null,
  };
}

export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return Math.round((kib / 1024) * 10) / 10;
}

/** Prints one round's figures as a block the CI log shows. */
export function printFigures(round: string, figures: Record<string, string | number>): void {
  const lines = Object.entries(figures).map(([name, value]) => `  ${name.padEnd(26)} ${value}`);
  console.log(`stress: ${round}\n${lines.join('\n')}`);
}

/**
 * Opens a raw socket, writes the chunks one by one, waits up to `lingerMs` for the server to answer
 * or close, then closes it. Resolves with whether the server closed it first.
 */
export function rawExchange(port: number, chunks: readonly Buffer[], lingerMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let closedByServer = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(closedByServer);
    };
    socket.on('error', () => undefined);
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('close', finish);
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
      setTimeout(finish, lingerMs);
    });
  });
}

/**
 * Registers the file's hooks: `fota serve` as its own process and one valid device, made before the
 * first test and killed after the last. Read `server` and `device` inside tests.
 */
export function fuzzTarget(name: string): { readonly server: StressServer; readonly device: StressDevice } {
  let server: StressServer | undefined;
  let device: StressDevice | undefined;
  beforeAll(async () => {
    server = await startStressServer();
    device = await server.newDevice(name);
  });
  afterAll(async () => server?.child.kill('SIGKILL'));
  return {
    get server() {
      return server!;
    },
    get device() {
      return device!;
    },
  };
}

export interface StressDevice {
  readonly deviceId: string;
  readonly deviceKey: string;
}

/**
 * Writes each case to a raw socket on `port`, `parallel` sockets at a time, and stops at the first
 * round after which the server process is gone.
 */
export async function fuzzRawPort(
  server: StressServer,
  port: number,
  cases: ReadonlyArray<readonly Buffer[]>,
  parallel: number,
): Promise<{ tried: number; closedByServer: number; crashes: number }> {
  let tried = 0;
  let closedByServer = 0;
  let crashes = 0;
  for (let start = 0; start < cases.length && crashes === 0; start += parallel) {
    const batch = cases.slice(start, start + parallel);
    const outcomes = await Promise.all(batch.map((written) => rawExchange(port, written, 40)));
    tried += batch.length;
    closedByServer += outcomes.filter(Boolean).length;
    if (!server.alive()) crashes++;
  }
  return { tried, closedByServer, crashes };
}
