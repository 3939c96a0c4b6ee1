import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { freePort, testEnvironment } from '../support/server.js';

/**
 * Two nodes of one cluster (the composition root's `createApp`, as `fota serve --workers` runs
 * them: one SQLite folder, a worker beside the primary) sharing the engines tier's redis-server,
 * each with its own MQTT broker on its own port: mqtt.js and Debian's mosquitto clients connect to
 * either, and the two brokers act as one.
 */
interface Node {
  readonly app: App;
  readonly url: string;
  readonly mqttPort: number;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

interface Received {
  topic: string;
  payload: string;
  qos: number;
}

let a: Node;
let b: Node;
let dataDir: string;
let redis: Redis;
let prototypeId: string;
let firmwareId: string;
const clients: mqtt.MqttClient[] = [];

const eventually = <T>(assertion: () => Promise<T> | T, timeout = 30_000) =>
  vi.waitFor(assertion, { timeout, interval: 100 });

async function startNode(env: Record<string, string>, worker: boolean): Promise<Node> {
  const config = loadConfig(env);
  const app = await createApp(config, undefined, { worker });
  await app.start();
  const url = `http://127.0.0.1:${config.httpPort}`;
  return {
    app,
    url,
    mqttPort: app.mqtt()!.port(),
    async api(method, path, body) {
      const response = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
    },
  };
}

beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  redis = new Redis(redisUrl);
  const envA = await testEnvironment({ FOTA_REDIS_URL: redisUrl, FOTA_REDIS_PRESENCE_TTL_S: '5' });
  dataDir = envA['FOTA_DATA_DIR']!;
  const httpB = await freePort();
  const envB = {
    ...envA,
    FOTA_HTTP_PORT: String(httpB),
    FOTA_TCP_PORT: String(await freePort()),
    FOTA_MQTT_PORT: String(await freePort()),
  };
  a = await startNode(envA, false);
  b = await startNode(envB, true);
  prototypeId = (await a.api('POST', '/prototypes', { name: 'mqtt across nodes' })).body.prototypeId;
  const form = new FormData();
  form.append('name', 'two');
  form.append('version', '2');
  form.append('file', new Blob(['firmware two']), 'fw.bin');
  const uploaded = await fetch(`${a.url}/api/v1/prototypes/${prototypeId}/firmwares`, {
    method: 'POST',
    headers: { authorization: `Bearer ${envA['FOTA_ADMIN_TOKEN']}` },
    body: form,
  });
  firmwareId = ((await uploaded.json()) as { fwId: string }).fwId;
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true)));
  await b?.app.stop();
  await a?.app.stop();
  redis?.disconnect();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function newDevice(name: string): Promise<{ deviceId: string; deviceKey: string; prefix: string }> {
  const device = (await a.api('POST', `/prototypes/${prototypeId}/devices`, { name })).body;
  await fetch(`${a.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
    method: 'PUT',
    headers: { deviceKey: device.deviceKey },
    body: '{"version":"1"}',
  });
  return { ...device, prefix: `mcs/${device.deviceId}/${device.deviceKey}` };
}

/** An mqtt.js client of `node` that records what it receives; no automatic reconnect. */
async function connect(
  node: Node,
  options: { clientId: string; clean: boolean },
): Promise<{ client: mqtt.MqttClient; messages: Received[]; sessionPresent: boolean }> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${node.mqttPort}`, {
    protocolVersion: 4,
    keepalive: 60,
    reconnectPeriod: 0,
    ...options,
  });
  clients.push(client);
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString(), qos: packet.qos }),
  );
  const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, messages, sessionPresent: connack.sessionPresent };
}

const clientId = (name: string) => `${name}-${randomBytes(6).toString('hex')}`;
const presenceOn = async (node: Node, deviceId: string) =>
  (await node.api('GET', `/devices/${deviceId}`)).body.presence as {
    online: boolean;
    protocol?: string;
    since?: string;
  };
const targetOf = async (pushId: string) => (await a.api('GET', `/pushes/${pushId}/targets`)).body.targets[0];
/** What a persistent session still has queued in Redis (aedes-persistence-redis's list, under our prefix). */
const queuedFor = (id: string) => redis.llen(`fota:mqtt:outgoing:${encodeURIComponent(id)}`);

describe('the MQTT brokers of two nodes sharing Redis', () => {
  it('keep a persistent session made on one node for a reconnect to the other, with what was published meanwhile', async () => {
    const device = await newDevice('persistent');
    const id = clientId('persistent');
    const first = await connect(a, { clientId: id, clean: false });
    expect(first.sessionPresent).toBe(false);
    expect((await first.client.subscribeAsync(`${device.prefix}/+`, { qos: 1 }))[0]!.qos).toBe(1);
    await first.client.endAsync();

    // Another connection of the device uploads while the persistent one is away.
    const uploader = await connect(b, { clientId: clientId('uploader'), clean: true });
    for (const value of [1, 2, 3])
      await uploader.client.publishAsync(`${device.prefix}/temp`, `,temp,${value}`, { qos: 1 });
    await eventually(async () => expect(await queuedFor(id)).toBe(3));

    const again = await connect(b, { clientId: id, clean: false });
    expect(again.sessionPresent).toBe(true);
    await eventually(() => expect(again.messages.map((m) => m.payload)).toEqual([',temp,1', ',temp,2', ',temp,3']));
    expect(again.messages.every((m) => m.qos === 1 && m.topic === `${device.prefix}/temp`)).toBe(true);
    // Each PUBACK on node B cleared what node A's session queued: nothing is sent a second time.
    await eventually(async () => expect(await queuedFor(id)).toBe(0));
    // The resumed session is the device's connection on node B, though it sent no SUBSCRIBE.
    await eventually(async () => expect((await presenceOn(b, device.deviceId)).online).toBe(true));
    // And it still has its subscription: a new upload reaches it live.
    await uploader.client.publishAsync(`${device.prefix}/temp`, ',temp,4', { qos: 1 });
    await eventually(() => expect(again.messages.map((m) => m.payload)).toContain(',temp,4'));
    expect(again.messages).toHaveLength(4);
  });

  it("route each device's topics on one exact Redis channel, not one pattern per subscription", async () => {
    const devices = await Promise.all(Array.from({ length: 40 }, (_, index) => newDevice(`channel ${index}`)));
    const subscribers = await Promise.all(
      devices.map((device, index) => connect(index % 2 ? a : b, { clientId: clientId('channel'), clean: true })),
    );
    await Promise.all(
      subscribers.map(({ client }, index) => client.subscribeAsync(`${devices[index]!.prefix}/+`, { qos: 1 })),
    );
    // Redis matches every PUBLISH against every pattern: only the brokers' few `$SYS/...` filters are patterns.
    expect(Number(await redis.pubsub('NUMPAT'))).toBeLessThan(20);
    const channels = (await redis.pubsub('CHANNELS', 'fota:mqtt:device:*')) as string[];
    for (const device of devices) expect(channels).toContain(`fota:mqtt:device:${device.deviceId}`);
    // No device key in a channel name.
    for (const device of devices) expect(channels.join(' ')).not.toContain(device.deviceKey);
    // Device 1's subscriber is on node A; its upload comes from node B.
    const uploader = await connect(b, { clientId: clientId('uploader'), clean: true });
    await uploader.client.publishAsync(`${devices[1]!.prefix}/temp`, ',temp,7', { qos: 1 });
    await eventually(() => expect(subscribers[1]!.messages.map((m) => m.payload)).toEqual([',temp,7']));
    await Promise.all(subscribers.map(({ client }) => client.endAsync()));
  });

  it('close the older connection of a persistent client id when it connects to the other node', async () => {
    const device = await newDevice('takeover');
    const id = clientId('takeover');
    const onA = await connect(a, { clientId: id, clean: false });
    await onA.client.subscribeAsync(`${device.prefix}/+`, { qos: 1 });
    await eventually(async () => expect((await presenceOn(a, device.deviceId)).online).toBe(true));
    const closed = new Promise<void>((resolve) => onA.client.once('close', () => resolve()));

    const takeover = Date.now();
    const onB = await connect(b, { clientId: id, clean: false });
    expect(onB.sessionPresent).toBe(true);
    await closed;
    // Presence is fleet-wide: both nodes name the connection made on B, which came after the takeover.
    for (const node of [a, b]) {
      await eventually(async () => {
        const presence = await presenceOn(node, device.deviceId);
        expect(presence.online).toBe(true);
        expect(Date.parse(presence.since!)).toBeGreaterThanOrEqual(takeover - 1000);
      });
    }
    expect(onB.client.connected).toBe(true);
  });

  it('leave clean sessions with the same client id alone (MediaTek clients fix theirs in firmware)', async () => {
    const [one, two] = [await newDevice('fixed id one'), await newDevice('fixed id two')];
    const onA = await connect(a, { clientId: 'mcs-fixed-id', clean: true });
    await onA.client.subscribeAsync(`${one.prefix}/+`, { qos: 1 });
    const onB = await connect(b, { clientId: 'mcs-fixed-id', clean: true });
    await onB.client.subscribeAsync(`${two.prefix}/+`, { qos: 1 });
    await eventually(async () => expect((await presenceOn(b, two.deviceId)).online).toBe(true));
    expect((await presenceOn(a, one.deviceId)).online).toBe(true);
    expect(onA.client.connected && onB.client.connected).toBe(true);
  });

  it("pass a device's upload on node A to mosquitto_sub on node B, and not back to its publisher", async () => {
    const device = await newDevice('upload');
    const publisher = await connect(a, { clientId: clientId('publisher'), clean: true });
    await publisher.client.subscribeAsync(`${device.prefix}/+`, { qos: 1 });
    const sub = spawn(
      'mosquitto_sub',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(b.mqttPort),
        '-V',
        'mqttv311',
        '-q',
        '1',
        '-C',
        '1',
        '-v',
        '-t',
        `${device.prefix}/+`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let errors = '';
    sub.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    sub.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const exited = new Promise<number | null>((resolve, reject) => {
      sub.on('error', (error) =>
        reject(new Error(`mosquitto_sub could not start (apt-get install mosquitto-clients): ${error.message}`)),
      );
      sub.on('exit', resolve);
    });
    try {
      // mosquitto_sub's subscription is on node B once B listens on the device's channel too
      // (presence says nothing here: it is fleet-wide, and the publisher holds the device on A).
      const channel = `fota:mqtt:device:${device.deviceId}`;
      await eventually(async () => expect(((await redis.pubsub('NUMSUB', channel)) as [string, number])[1]).toBe(2));
      await publisher.client.publishAsync(`${device.prefix}/temp`, ',temp,25', { qos: 1 });
      expect(await exited).toBe(0);
      const received = output.split('\n').filter((line) => line.startsWith(`${device.prefix}/`));
      expect(received).toEqual([`${device.prefix}/temp ,temp,25`]);
    } finally {
      sub.kill();
    }
    expect(errors).toBe('');
    // A later upload from node B reaches the publisher: its own upload, sent before, never did.
    const marker = spawn('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(b.mqttPort),
      '-V',
      'mqttv311',
      '-q',
      '1',
      '-t',
      `${device.prefix}/hum`,
      '-m',
      ',hum,60',
    ]);
    await new Promise((resolve) => marker.on('exit', resolve));
    await eventually(() => expect(publisher.messages.map((m) => m.payload)).toEqual([',hum,60']));
  });

  it('deliver a push once to a device online on the other node', async () => {
    const device = await newDevice('online elsewhere');
    const onB = await connect(b, { clientId: clientId('pushed'), clean: false });
    await onB.client.subscribeAsync(`${device.prefix}/+`, { qos: 1 });
    await eventually(async () => expect((await presenceOn(b, device.deviceId)).online).toBe(true));
    const push = await a.api('POST', `/firmwares/${firmwareId}/push`, { deviceIds: [device.deviceId] });
    expect(push.status).toBe(201);
    await eventually(async () => expect((await targetOf(push.body.pushId)).status).toBe('delivered'));
    await expectFota(onB, device.prefix, 1);
  });

  it('keep no FOTA command in a persistent session: one left without PUBACK is not sent again by the broker', async () => {
    const device = await newDevice('no puback');
    const id = clientId('silent');
    const silent = await connect(b, { clientId: id, clean: false });
    // This client records what it receives (the `message` event) and never acknowledges it.
    silent.client.handleMessage = () => undefined;
    await silent.client.subscribeAsync(`${device.prefix}/+`, { qos: 1 });
    await eventually(async () => expect((await presenceOn(b, device.deviceId)).online).toBe(true));
    const push = await a.api('POST', `/firmwares/${firmwareId}/push`, { deviceIds: [device.deviceId] });
    await eventually(() => expect(silent.messages.filter((m) => m.topic === `${device.prefix}/FOTA`)).toHaveLength(1));
    expect(await queuedFor(id)).toBe(0);
    await silent.client.endAsync(true);

    const again = await connect(a, { clientId: id, clean: false });
    expect(again.sessionPresent).toBe(true);
    await expectFota(again, device.prefix, 0);
    // Not acknowledged: the push waits for the device, as it would over TCP.
    expect((await targetOf(push.body.pushId)).status).toBe('sent');
  });

  it('deliver a push queued for an offline persistent session once, when it reconnects to another node', async () => {
    const device = await newDevice('offline persistent');
    const id = clientId('queued');
    const first = await connect(a, { clientId: id, clean: false });
    await first.client.subscribeAsync(`${device.prefix}/+`, { qos: 1 });
    await eventually(async () => expect((await presenceOn(a, device.deviceId)).online).toBe(true));
    await first.client.endAsync();
    await eventually(async () => expect((await presenceOn(a, device.deviceId)).online).toBe(false));

    const push = await a.api('POST', `/firmwares/${firmwareId}/push`, {
      deviceIds: [device.deviceId],
      queueOffline: true,
    });
    expect(push.body.counts.queued).toBe(1);
    expect((await targetOf(push.body.pushId)).status).toBe('queued');
    // The push dispatcher owns it: nothing is queued in the MQTT session.
    expect(await queuedFor(id)).toBe(0);

    const again = await connect(b, { clientId: id, clean: false });
    expect(again.sessionPresent).toBe(true);
    await eventually(async () => expect((await targetOf(push.body.pushId)).status).toBe('delivered'));
    await expectFota(again, device.prefix, 1);
    await again.client.endAsync();

    // Back on node A: the session has nothing left to send, and the push was delivered.
    const third = await connect(a, { clientId: id, clean: false });
    expect(third.sessionPresent).toBe(true);
    await expectFota(third, device.prefix, 0);
    expect((await targetOf(push.body.pushId)).status).toBe('delivered');
  });
});

/**
 * The client received `count` FOTA commands: an upload from another connection of the device,
 * sent now from each node, reaches the client too, so anything sent before has arrived by then.
 */
async function expectFota(receiver: { messages: Received[] }, prefix: string, count: number): Promise<void> {
  for (const node of [a, b]) {
    const marker = `,note,${randomBytes(4).toString('hex')}`;
    const other = await connect(node, { clientId: clientId('marker'), clean: true });
    await other.client.publishAsync(`${prefix}/note`, marker, { qos: 1 });
    await eventually(() => expect(receiver.messages.map((m) => m.payload)).toContain(marker));
    await other.client.endAsync();
  }
  const fota = receiver.messages.filter((m) => m.topic === `${prefix}/FOTA`);
  expect(fota).toHaveLength(count);
  for (const message of fota) {
    expect(message.qos).toBe(1);
    expect(message.payload).toMatch(/^\d{13},FOTA,2,/);
  }
}
