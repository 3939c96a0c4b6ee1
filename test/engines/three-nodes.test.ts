import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { keys } from '../../src/bus/redis/keys.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { newAdminToken, testEnvironment } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';
import { createDatabase, dropDatabase } from '../services/postgres.js';

/**
 * Three `fota serve` processes on loopback, each with its own ports and data folder, sharing one
 * PostgreSQL database, one Redis and one S3 prefix: the deployment issue 10 is about. Devices on
 * every node over TCP and MQTT; a firmware uploaded on one node, pushed from another, followed on
 * the third; then a node that hangs and is killed during a push, its devices moving to the others.
 */
const TTL_S = 3;
const REQUEST_TIMEOUT_S = 4;
const run = randomBytes(4).toString('hex');

interface Node {
  readonly name: string;
  readonly nodeId: string;
  readonly env: Record<string, string>;
  readonly url: string;
  child: ChildServer;
}

interface Fota {
  readonly version: string;
  readonly md5: string;
  readonly url: string;
}

interface Device {
  readonly name: string;
  readonly deviceId: string;
  readonly deviceKey: string;
  readonly protocol: 'tcp' | 'mqtt';
  /** FOTA messages received over MQTT, on any of its clients. */
  readonly mqttFota: Fota[];
  /** Every TCP connection it made (TCP messages have no delimiter: they are parsed from all bytes). */
  readonly sockets: TcpDevice[];
  readonly clients: mqtt.MqttClient[];
}

const nodes: Node[] = [];
const databases: string[] = [];
const devices: Device[] = [];
let redis: Redis;
let token: string;
let prototypeId: string;
const firmware: Record<string, { fwId: string; content: Buffer; sha256: string; md5: string }> = {};

const eventually = <T>(assertion: () => Promise<T> | T, timeout = 30_000) =>
  vi.waitFor(assertion, { timeout, interval: 100 });

async function api<T = any>(node: Node, method: string, path: string, body?: unknown) {
  const response = await fetch(`${node.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

async function upload(node: Node, version: string): Promise<void> {
  const content = randomBytes(48 * 1024 + version.length);
  const form = new FormData();
  form.append('name', `firmware ${version}`);
  form.append('version', version);
  form.append('file', new Blob([content]), 'fw.bin');
  const response = await fetch(`${node.url}/api/v1/prototypes/${prototypeId}/firmwares`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  expect(response.status).toBe(201);
  const body = (await response.json()) as { fwId: string; sha256: string; md5: string };
  expect(body.sha256).toBe(createHash('sha256').update(content).digest('hex'));
  firmware[version] = { fwId: body.fwId, content, sha256: body.sha256, md5: body.md5 };
}

async function report(node: Node, device: Device, version: string): Promise<void> {
  const response = await fetch(`${node.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
    method: 'PUT',
    headers: { deviceKey: device.deviceKey },
    body: JSON.stringify({ version }),
  });
  expect(response.status).toBe(200);
}

/** Every FOTA message the device received, over all its connections, oldest first per protocol. */
function fotaOf(device: Device): Fota[] {
  const overTcp = device.sockets.flatMap((socket) =>
    [...socket.text().matchAll(/,FOTA,([^,]+),([^,]+),(http:\/\/127\.0\.0\.1:\d+\/fw\/p\/[A-Za-z0-9]{21})/g)].map(
      (match) => ({ version: match[1]!, md5: match[2]!, url: match[3]! }),
    ),
  );
  return [...overTcp, ...device.mqttFota];
}
const messagesOf = (device: Device, version: string) => fotaOf(device).filter((fota) => fota.version === version);

const holderOf = (device: Device) => redis.hget(keys.presence(device.deviceId), 'node');

/** Connects the device to `node` and waits until Redis names that node as its holder. */
async function connect(device: Device, node: Node): Promise<void> {
  if (device.protocol === 'tcp') {
    const socket = await TcpDevice.connect(Number(node.env['FOTA_TCP_PORT']));
    device.sockets.push(socket);
    socket.send(`${device.deviceId},${device.deviceKey},0`);
  } else {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${node.env['FOTA_MQTT_PORT']}`, {
      clientId: `c-${device.deviceId}`,
      clean: true,
      reconnectPeriod: 0,
    });
    watch(device, client);
    await client.subscribeAsync(`mcs/${device.deviceId}/${device.deviceKey}/+`, { qos: 1 });
  }
  await eventually(async () => expect(await holderOf(device)).toBe(node.nodeId));
}

/** Starts connecting to a node that does not answer (stopped): the connection stays pending. */
async function startConnecting(device: Device, node: Node): Promise<void> {
  if (device.protocol === 'tcp') {
    // The kernel accepts it into the listen queue; the heartbeat waits there, never read.
    const socket = await TcpDevice.connect(Number(node.env['FOTA_TCP_PORT']));
    device.sockets.push(socket);
    socket.send(`${device.deviceId},${device.deviceKey},0`);
  } else {
    const client = mqtt.connect(`mqtt://127.0.0.1:${node.env['FOTA_MQTT_PORT']}`, {
      clientId: `c-${device.deviceId}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 60_000,
    });
    watch(device, client);
  }
}

function watch(device: Device, client: mqtt.MqttClient): void {
  device.clients.push(client);
  client.on('error', () => undefined);
  client.on('message', (topic, payload) => {
    if (!topic.endsWith('/FOTA')) return;
    const [, , version, md5, url] = payload.toString().split(',');
    device.mqttFota.push({ version: version!, md5: md5!, url: url! });
  });
}

function disconnect(device: Device): void {
  for (const socket of device.sockets) socket.close();
  for (const client of device.clients) client.end(true);
}

/** Downloads what the message points to, checks it is the firmware, and reports the new version. */
async function upgrade(device: Device, message: Fota, via: Node): Promise<void> {
  const expected = firmware[message.version]!;
  expect(message.md5).toBe(expected.md5);
  const response = await fetch(message.url);
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  expect(bytes.length).toBe(expected.content.length);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(expected.sha256);
  await report(via, device, message.version);
}

const targetsOf = async (node: Node, pushId: string) =>
  (await api<{ targets: Array<{ deviceId: string; status: string }> }>(node, 'GET', `/pushes/${pushId}/targets`)).body
    .targets;

/**
 * Kills the servers when the test process ends without killing them (a crashed run): a watchdog
 * of its own, which ends once they are gone.
 */
function watchdog(pids: readonly number[]): void {
  const script = `
    const [parent, ...children] = process.argv.slice(1).map(Number);
    const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
    const timer = setInterval(() => {
      const left = children.filter(alive);
      if (left.length === 0) return clearInterval(timer);
      if (alive(parent)) return;
      for (const pid of left) try { process.kill(pid, 'SIGKILL'); } catch {}
      clearInterval(timer);
    }, 500);`;
  spawn(process.execPath, ['-e', script, String(process.pid), ...pids.map(String)], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}

beforeAll(async () => {
  const s3 = inject('s3');
  const databaseUrl = await createDatabase(inject('postgresUrl'));
  databases.push(databaseUrl);
  redis = new Redis(inject('redisUrl'));
  token = newAdminToken();
  const shared = {
    FOTA_DATABASE_URL: databaseUrl,
    FOTA_DATABASE_POOL_SIZE: '4',
    FOTA_REDIS_URL: inject('redisUrl'),
    FOTA_REDIS_PRESENCE_TTL_S: String(TTL_S),
    FOTA_REDIS_REQUEST_TIMEOUT_S: String(REQUEST_TIMEOUT_S),
    FOTA_S3_BUCKET: s3.bucket,
    FOTA_S3_ENDPOINT: s3.endpoint,
    FOTA_S3_REGION: s3.region,
    FOTA_S3_ACCESS_KEY_ID: s3.accessKeyId,
    FOTA_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    FOTA_S3_PREFIX: `three-nodes-${run}/`,
    FOTA_ADMIN_TOKEN: token,
    FOTA_LOG_LEVEL: 'warn',
    // The test's TCP devices send one heartbeat only.
    FOTA_TCP_HEARTBEAT_TIMEOUT_S: '900',
  };
  const started = await Promise.allSettled(
    [1, 2, 3].map(async (index) => {
      const nodeId = `three-${run}-${index}`;
      const env = await testEnvironment({ ...shared, FOTA_NODE_ID: nodeId });
      const child = await startChildServer(env, { startTimeoutMs: 90_000 });
      const node: Node = { name: `node ${index}`, nodeId, env, url: child.url, child };
      nodes.push(node);
      return node;
    }),
  );
  watchdog(nodes.map((node) => node.child.process.pid!));
  for (const result of started) if (result.status === 'rejected') throw result.reason;
  nodes.sort((a, b) => a.name.localeCompare(b.name));
  const [first, , third] = nodes as [Node, Node, Node];

  prototypeId = (await api(first, 'POST', '/prototypes', { name: 'three nodes' })).body.prototypeId;
  for (const version of ['1', '2']) await upload(first, version);
  const plan = [
    ['a', 'tcp'],
    ['b', 'mqtt'],
    ['c', 'tcp'],
    ['d', 'mqtt'],
    ['e', 'tcp'],
    ['f', 'mqtt'],
    ['g', 'tcp'],
    ['h', 'mqtt'],
  ] as const;
  for (const [name, protocol] of plan) {
    const created = (await api(first, 'POST', `/prototypes/${prototypeId}/devices`, { name })).body;
    const device: Device = { name, ...created, protocol, mqttFota: [], sockets: [], clients: [] };
    devices.push(device);
    await report(third, device, '1');
  }
}, 110_000);

afterAll(async () => {
  for (const device of devices) disconnect(device);
  for (const node of nodes) await node.child.kill('SIGKILL');
  await redis?.quit();
  for (const node of nodes) await rm(node.env['FOTA_DATA_DIR']!, { recursive: true, force: true });
  for (const url of databases) await dropDatabase(url);
});

const byName = (name: string) => devices.find((device) => device.name === name)!;

describe('three fota serve processes on PostgreSQL, Redis and S3', () => {
  it('delivers a push from node 2 of a firmware uploaded on node 1 once to devices on every node, to upgraded on node 3', async () => {
    const [first, second, third] = nodes as [Node, Node, Node];
    // a, b on node 1; c, d on node 2; e, f on node 3: TCP and MQTT on each. g, h stay offline.
    const placed = devices.slice(0, 6);
    for (const [index, device] of placed.entries()) await connect(device, nodes[Math.floor(index / 2)]!);

    const push = await api(second, 'POST', `/firmwares/${firmware['2']!.fwId}/push`, {
      deviceIds: placed.map((device) => device.deviceId),
    });
    expect(push.status).toBe(201);
    expect(push.body.counts.queued).toBe(placed.length);
    for (const device of placed) await eventually(() => expect(messagesOf(device, '2')).toHaveLength(1));
    // Each downloads from the URL it was given (node 2's) and reports the new version to node 1.
    for (const device of placed) await upgrade(device, messagesOf(device, '2')[0]!, first);
    await eventually(async () =>
      expect((await targetsOf(third, push.body.pushId)).map((target) => target.status)).toEqual(
        placed.map(() => 'upgraded'),
      ),
    );
    // Time for a second delivery, had there been one, to arrive.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(placed.map((device) => messagesOf(device, '2').length)).toEqual(placed.map(() => 1));
    expect((await api(third, 'GET', `/pushes/${push.body.pushId}`)).body).toMatchObject({
      status: 'finished',
      counts: { upgraded: placed.length, failed: 0 },
    });
  });

  it('delivers a push once to every device when a node hangs during it and is killed, its devices moving on', async () => {
    const [first, second, third] = nodes as [Node, Node, Node];
    await upload(third, '3');
    const [a, b, g, h] = [byName('a'), byName('b'), byName('g'), byName('h')];
    expect([await holderOf(a), await holderOf(b), await holderOf(g)]).toEqual([first.nodeId, first.nodeId, null]);

    // Node 1 hangs: it still holds a and b in Redis (until its entries expire), but answers nothing.
    first.child.process.kill('SIGSTOP');
    const stopped = Date.now();
    // Its liveness and its entries were last refreshed before it stopped: they expire within the TTL.
    for (const key of [keys.node(first.nodeId), keys.presence(a.deviceId), keys.presence(b.deviceId)]) {
      const left = await redis.pttl(key);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(TTL_S * 1000);
    }
    let expired: number | undefined;
    const watching = eventually(async () => {
      expect(await redis.exists(keys.node(first.nodeId))).toBe(0);
      expired = Date.now();
    });
    watching.catch(() => undefined); // awaited below
    const push = await api(second, 'POST', `/firmwares/${firmware['3']!.fwId}/push`, {
      deviceIds: devices.map((device) => device.deviceId),
      queueOffline: true,
    });
    expect(push.status).toBe(201);
    expect(push.body.counts.queued).toBe(devices.length);
    // g and h were offline: queued, they connect to node 1, which never reads them, then it dies.
    await startConnecting(g, first);
    await startConnecting(h, first);
    await first.child.kill('SIGKILL');

    // a reconnects at once to node 3, while node 2 still waits for node 1 to answer about it;
    // g to node 2 and h to node 3.
    for (const client of [...a.clients, ...b.clients, ...g.clients, ...h.clients]) client.end(true);
    for (const socket of [...a.sockets, ...g.sockets]) socket.close();
    await connect(a, third);
    await connect(g, second);
    await connect(h, third);
    // b stays away until its entry naming node 1 has expired, as has node 1's liveness.
    await watching;
    await eventually(async () => expect(await holderOf(b)).toBeNull());
    // Within the TTL of the last refresh, with room for a busy machine.
    expect(expired! - stopped).toBeLessThan(TTL_S * 1000 + 5000);
    await connect(b, second);

    await eventually(async () =>
      expect(
        devices.map((device) => messagesOf(device, '3').length),
        JSON.stringify(await api(third, 'GET', `/pushes/${push.body.pushId}/targets`)),
      ).toEqual(devices.map(() => 1)),
    );
    for (const device of devices) await upgrade(device, messagesOf(device, '3')[0]!, second);
    await eventually(async () =>
      expect((await targetsOf(third, push.body.pushId)).map((target) => target.status)).toEqual(
        devices.map(() => 'upgraded'),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(devices.map((device) => messagesOf(device, '3').length)).toEqual(devices.map(() => 1));
    // No device is left on node 1; both survivors count the push alike.
    for (const device of devices) expect(await holderOf(device)).not.toBe(first.nodeId);
    const summaries = [
      await api(second, 'GET', `/pushes/${push.body.pushId}`),
      await api(third, 'GET', `/pushes/${push.body.pushId}`),
    ];
    expect(summaries[0]!.body).toEqual(summaries[1]!.body);
    expect(summaries[0]!.body).toMatchObject({
      status: 'finished',
      counts: { upgraded: devices.length, failed: 0, queued: 0 },
    });
  });

  it('writes nothing late from a node that hung past the request timeout, and delivers once on reconnect', async () => {
    const [, second, third] = nodes as [Node, Node, Node];
    await upload(second, '4');
    const held: Device[] = [];
    for (const device of devices) if ((await holderOf(device)) === third.nodeId) held.push(device);
    expect(held.length).toBeGreaterThanOrEqual(2);

    // Node 3 hangs longer than node 2 waits for it: its devices are queued again meanwhile.
    third.child.process.kill('SIGSTOP');
    const push = await api(second, 'POST', `/firmwares/${firmware['4']!.fwId}/push`, {
      deviceIds: devices.map((device) => device.deviceId),
      queueOffline: true,
    });
    expect(push.status).toBe(201);
    const statusOf = async (device: Device) =>
      (await targetsOf(second, push.body.pushId)).find((target) => target.deviceId === device.deviceId)!.status;
    for (const device of held) await eventually(async () => expect(await statusOf(device)).toBe('queued'));
    for (const device of devices.filter((device) => !held.includes(device))) {
      await eventually(() => expect(messagesOf(device, '4')).toHaveLength(1));
    }

    // It resumes: the requests it finds were given up on; it writes none of them.
    third.child.process.kill('SIGCONT');
    for (const device of held) await eventually(async () => expect(await holderOf(device)).toBe(third.nodeId));
    expect((await fetch(`${third.url}/healthz`)).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(held.map((device) => messagesOf(device, '4').length)).toEqual(held.map(() => 0));

    // Its devices reconnect, to it, and get the push then, once.
    for (const device of held) {
      disconnect(device);
      await eventually(async () => expect(await holderOf(device)).toBeNull());
      await connect(device, third);
    }
    await eventually(() =>
      expect(devices.map((device) => messagesOf(device, '4').length)).toEqual(devices.map(() => 1)),
    );
    for (const device of devices) await upgrade(device, messagesOf(device, '4')[0]!, third);
    await eventually(async () =>
      expect((await targetsOf(third, push.body.pushId)).map((target) => target.status)).toEqual(
        devices.map(() => 'upgraded'),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(devices.map((device) => messagesOf(device, '4').length)).toEqual(devices.map(() => 1));
  });
});
