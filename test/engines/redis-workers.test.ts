import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { keys } from '../../src/bus/redis/keys.js';
import { testEnvironment } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

/**
 * `fota serve --workers 2` on loopback with one SQLite data folder and Redis: the workers are two
 * nodes of one cluster sharing the ports, so devices land on both (node:cluster hands connections
 * out in turn), and a push, its progress and a worker killed mid-way are seen across them.
 */
const WORKERS = 2;
const TTL_S = 3;

let child: ChildProcess;
let output = '';
let env: Record<string, string>;
let url: string;
let redis: Redis;
const clients: mqtt.MqttClient[] = [];
const tcp: TcpDevice[] = [];

interface Device {
  deviceId: string;
  deviceKey: string;
  protocol: 'tcp' | 'mqtt';
  /** FOTA messages received over MQTT. */
  fota: string[];
  /** FOTA commands counted before the current test. */
  before: number;
  /** Every TCP connection the device made. */
  sockets: TcpDevice[];
  socket?: TcpDevice;
  client?: mqtt.MqttClient;
}

const eventually = <T>(assertion: () => Promise<T> | T, timeout = 30_000) =>
  vi.waitFor(assertion, { timeout, interval: 100 });

async function api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function upload(prototypeId: string, version: string): Promise<string> {
  const form = new FormData();
  form.append('name', version);
  form.append('version', version);
  form.append('file', new Blob([`firmware ${version}`]), 'fw.bin');
  const response = await fetch(`${url}/api/v1/prototypes/${prototypeId}/firmwares`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}` },
    body: form,
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { fwId: string }).fwId;
}

const report = (device: Device, version: string) =>
  fetch(`${url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
    method: 'PUT',
    headers: { deviceKey: device.deviceKey },
    body: JSON.stringify({ version }),
  }).then((response) => expect(response.status).toBe(200));

/** The workers as their logs name them: node id to process id. */
function workers(): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.includes('joined the cluster through Redis')) continue;
    const entry = JSON.parse(line) as { nodeId: string; pid: number };
    found.set(entry.nodeId, entry.pid);
  }
  return found;
}

const holderOf = async (device: Device) => redis.hget(keys.presence(device.deviceId), 'node');

async function connect(device: Device): Promise<void> {
  if (device.protocol === 'tcp') {
    const socket = await TcpDevice.connect(Number(env['FOTA_TCP_PORT']));
    tcp.push(socket);
    socket.send(`${device.deviceId},${device.deviceKey},0`);
    device.socket = socket;
    device.sockets.push(socket);
  } else {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${env['FOTA_MQTT_PORT']}`, {
      clientId: `c-${device.deviceId}`,
      clean: true,
      reconnectPeriod: 0,
    });
    client.on('error', () => undefined);
    clients.push(client);
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/FOTA')) device.fota.push(payload.toString());
    });
    await client.subscribeAsync(`mcs/${device.deviceId}/${device.deviceKey}/+`, { qos: 1 });
    device.client = client;
  }
  await eventually(async () => expect(await holderOf(device)).not.toBeNull());
}

/** FOTA commands a device received since `from`, over all its connections (TCP has no delimiter). */
const fotaCount = (device: Device): number =>
  device.fota.length +
  device.sockets.reduce((sum, socket) => sum + socket.text().split(',FOTA,').length - 1, 0) -
  device.before;

const targetsOf = async (pushId: string) =>
  (await api<{ targets: Array<{ deviceId: string; status: string }> }>('GET', `/pushes/${pushId}/targets`)).body
    .targets;

let prototypeId: string;
const firmware: Record<string, string> = {};
const devices: Device[] = [];
const streamed: Array<{ type: string; data: any }> = [];
let stream: AbortController;
/** The statuses of the requests made while the workers started. */
const startAnswers: number[] = [];

beforeAll(async () => {
  env = await testEnvironment({
    FOTA_REDIS_URL: inject('redisUrl'),
    FOTA_REDIS_PRESENCE_TTL_S: String(TTL_S),
    // Given to the primary: each worker must still be a node of its own (edge-w1, edge-w2).
    FOTA_NODE_ID: 'edge',
    FOTA_LOG_LEVEL: 'info',
    FOTA_LOG_FORMAT: 'json',
    FOTA_SHUTDOWN_GRACE_S: '5',
  });
  url = `http://127.0.0.1:${env['FOTA_HTTP_PORT']}`;
  redis = new Redis(inject('redisUrl'));
  child = spawn(process.execPath, ['bin/fota.js', 'serve', '--workers', String(WORKERS)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const serving = () => output.includes(`fota is serving with ${WORKERS} workers`);
  // Requests from the moment the port accepts, each on a connection of its own, until all serve.
  const asking = (async () => {
    while (!serving() && child.exitCode === null) {
      const answer = await fetch(`${url}/api/v1/prototypes`, {
        headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}`, connection: 'close' },
      }).catch(() => undefined);
      if (answer === undefined) await new Promise((resolve) => setTimeout(resolve, 2));
      else startAnswers.push(answer.status);
      await answer?.arrayBuffer();
    }
  })();
  await eventually(() => expect(output).toContain(`fota is serving with ${WORKERS} workers`), 100_000);
  await asking;
  expect(workers().size).toBe(WORKERS);

  prototypeId = (await api('POST', '/prototypes', { name: 'cluster' })).body.prototypeId;
  for (const version of ['1', '2', '3']) firmware[version] = await upload(prototypeId, version);
  for (const protocol of ['tcp', 'tcp', 'tcp', 'tcp', 'mqtt', 'mqtt', 'mqtt', 'mqtt'] as const) {
    const created = (await api('POST', `/prototypes/${prototypeId}/devices`, { name: protocol })).body;
    const device: Device = {
      deviceId: created.deviceId,
      deviceKey: created.deviceKey,
      protocol,
      fota: [],
      before: 0,
      sockets: [],
    };
    await report(device, '1');
    devices.push(device);
  }

  // The console's live stream, on whichever worker takes it.
  stream = new AbortController();
  const response = await fetch(`${url}/api/v1/events`, {
    headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}` },
    signal: stream.signal,
  });
  expect(response.status).toBe(200);
  void (async () => {
    let text = '';
    for await (const chunk of response.body!) {
      text += Buffer.from(chunk).toString();
      let end;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const type = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (type && data) streamed.push({ type, data: JSON.parse(data) });
      }
    }
  })().catch(() => undefined);
}, 150_000);

afterAll(async () => {
  stream?.abort();
  for (const client of clients) client.end(true);
  for (const socket of tcp) socket.close();
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    for (const pid of workers().values()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  await redis?.quit();
});

describe('fota serve --workers on Redis', () => {
  it('answers every request from the moment its port accepts, none with 503 while a worker starts', () => {
    expect(startAnswers.length).toBeGreaterThan(0);
    expect(startAnswers.filter((status) => status !== 200)).toEqual([]);
  });

  it('gets one push to TCP and MQTT devices on different workers once each, to upgraded, seen by one stream', async () => {
    for (const device of devices) await connect(device);
    // node:cluster handed the connections out in turn: each protocol has devices on both workers.
    for (const protocol of ['tcp', 'mqtt']) {
      const holders = new Set(
        await Promise.all(devices.filter((device) => device.protocol === protocol).map(holderOf)),
      );
      expect(holders.size, `${protocol} devices on every worker`).toBe(WORKERS);
      for (const holder of holders) expect(holder).toMatch(/^edge-w\d+$/);
    }
    const ids = devices.map((device) => device.deviceId);
    const push = await api('POST', `/firmwares/${firmware['2']}/push`, { deviceIds: ids });
    expect(push.status).toBe(201);
    expect(push.body.counts.queued).toBe(devices.length);
    for (const device of devices) await eventually(() => expect(fotaCount(device)).toBe(1));
    for (const device of devices) await report(device, '2');
    await eventually(async () =>
      expect((await targetsOf(push.body.pushId)).map((target) => target.status)).toEqual(devices.map(() => 'upgraded')),
    );
    // The stream saw every device's progress, including what was recorded on the other worker:
    // an MQTT acknowledgement is recorded where the device is connected.
    for (const device of devices) {
      await eventually(() => {
        const statuses = streamed
          .filter((event) => event.type === 'push.progress' && event.data.deviceId === device.deviceId)
          .map((event) => event.data.status);
        expect(statuses).toContain('upgraded');
        if (device.protocol === 'mqtt') expect(statuses).toContain('delivered');
      });
    }
    expect(devices.map(fotaCount)).toEqual(devices.map(() => 1));
  });

  it('moves the devices of a worker killed by SIGKILL to another, expires its presence, and sends nothing twice', async () => {
    for (const device of devices) device.before += fotaCount(device);
    // One device is offline: the push waits for it.
    const late = devices[0]!;
    late.socket!.close();
    await eventually(async () => expect(await holderOf(late)).toBeNull());
    const push = await api('POST', `/firmwares/${firmware['3']}/push`, {
      deviceIds: devices.map((device) => device.deviceId),
      queueOffline: true,
    });
    expect(push.status).toBe(201);
    const online = devices.slice(1);
    for (const device of online) await eventually(() => expect(fotaCount(device)).toBe(1));

    // Kill the worker that holds the second TCP device, without a word.
    const victim = (await holderOf(devices[1]!))!;
    const pid = workers().get(victim)!;
    const held = [];
    for (const device of online) if ((await holderOf(device)) === victim) held.push(device);
    expect(held.length).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const killed = Date.now();

    // Its liveness key and every presence entry naming it expire within the TTL.
    await eventually(async () => expect(await redis.exists(keys.node(victim))).toBe(0));
    for (const device of held) await eventually(async () => expect(await holderOf(device)).not.toBe(victim));
    expect(Date.now() - killed).toBeLessThan((2 * TTL_S + 5) * 1000);

    // Its devices reconnect, and land on a worker that lives (the survivor, or the replacement).
    for (const device of held) {
      device.socket?.close();
      device.client?.end(true);
      await connect(device);
      expect(await holderOf(device)).not.toBe(victim);
    }
    // The offline device connects now, anywhere, and gets the queued push once.
    await connect(late);
    await eventually(() => expect(fotaCount(late)).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(devices.map(fotaCount)).toEqual(devices.map(() => 1));
    const targets = await targetsOf(push.body.pushId);
    expect(targets.filter((target) => target.status === 'queued')).toEqual([]);
    expect(child.exitCode).toBeNull();
  });

  it('stops every worker on SIGINT within the grace period', async () => {
    // The replacement of the killed worker is up.
    await eventually(() => expect(workers().size).toBe(WORKERS + 1));
    await eventually(() => expect(output.split('"msg":"fota is serving"').length - 1).toBe(WORKERS + 1), 60_000);
    const pids = [...workers().values()];
    // No request in flight: every worker stops well within its grace period, and says so.
    stream.abort();
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, output.split('\n').slice(-15).join('\n')).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(output).toContain('stopping 2 workers');
  });
});
