import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import mqtt, { ErrorWithSubackPacket, type IClientOptions, type MqttClient, type IPublishPacket } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FotaCommand } from '../../src/domain/model.js';
import { LocalEventBus, type DomainEvent } from '../../src/domain/events.js';
import type { ChannelValue } from '../../src/domain/model.js';
import type { ChannelValueRepository } from '../../src/domain/ports.js';
import { DeviceConnections } from '../../src/domain/services/connections.js';
import { DataPointService } from '../../src/domain/services/data-points.js';
import { startMqttBroker, type MqttBroker } from '../../src/transports/mcs-mqtt/broker.js';
import { startServer, type TestServer } from '../support/server.js';

/** The last value of each channel, in memory: the repository is not the subject here. */
class ChannelValues implements ChannelValueRepository {
  private readonly byDevice = new Map<string, Map<string, ChannelValue>>();
  private readonly prototypeOf = new Map<string, string>();

  register(deviceId: string, prototypeId: string): void {
    this.prototypeOf.set(deviceId, prototypeId);
  }

  async upsert(deviceId: string, values: readonly ChannelValue[]): Promise<void> {
    const channels = this.byDevice.get(deviceId) ?? new Map<string, ChannelValue>();
    for (const value of values) {
      const held = channels.get(value.channelId);
      if (!held || held.timestamp <= value.timestamp) channels.set(value.channelId, value);
    }
    this.byDevice.set(deviceId, channels);
  }

  async list(deviceId: string): Promise<ChannelValue[]> {
    return [...(this.byDevice.get(deviceId)?.values() ?? [])];
  }

  async listByPrototype(prototypeId: string): Promise<Map<string, ChannelValue[]>> {
    const result = new Map<string, ChannelValue[]>();
    for (const [deviceId, prototype] of this.prototypeOf) {
      if (prototype === prototypeId) result.set(deviceId, await this.list(deviceId));
    }
    return result;
  }
}

interface TestDevice {
  readonly deviceId: string;
  readonly deviceKey: string;
}

let server: TestServer;
let broker: MqttBroker;
let connections: DeviceConnections;
const channels = new ChannelValues();
const events: DomainEvent[] = [];
const logs: Array<Record<string, unknown>> = [];
const clients: MqttClient[] = [];
/** Moves the services' clock forward, to see `lastSeen` move. */
let clockShift = 0;
/** One device per protocol version for the FOTA and data point tests, plus bystanders. */
const devices: Record<string, TestDevice> = {};

beforeAll(async () => {
  server = await startServer();
  const prototypeId = (await server.api<any>('POST', '/prototypes', { name: 'LinkIt 7687' })).body.prototypeId;
  for (const name of ['v3', 'v4', 'other', 'stranger', 'sub31', 'sub311', 'twinA', 'twinB']) {
    devices[name] = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name })).body;
    channels.register(devices[name]!.deviceId, prototypeId);
  }

  const bus = new LocalEventBus((error) => {
    throw error;
  });
  bus.subscribe((event) => {
    events.push(event);
  });
  const clock = { now: () => new Date(Date.now() + clockShift) };
  connections = new DeviceConnections({ events: bus, clock });
  const dataPoints = new DataPointService({ channels, connections, events: bus, clock });
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  broker = await startMqttBroker({
    host: '127.0.0.1',
    port: 0,
    deviceSelf: server.app.services.deviceSelf,
    connections,
    dataPoints,
    events: bus,
    logger,
  });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
});

afterAll(async () => {
  await broker?.close();
  await server?.stop();
});

const device = (name: string): TestDevice => devices[name]!;
const prefix = (d: TestDevice, key = d.deviceKey): string => `mcs/${d.deviceId}/${key}`;

/** MQTT 3.1 as MediaTek's C clients speak it (fixed client id), or 3.1.1 as mqtt.js does. */
async function connect(version: 3 | 4, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port()}`, {
    protocolVersion: version,
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    clientId: version === 3 ? 'mqtt-7687-client' : `mqttjs_${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    keepalive: 10,
    reconnectPeriod: 0,
    ...options,
  });
  clients.push(client);
  return client;
}

/** The SUBACK's return code for one filter asked at QoS 1: the granted QoS, or 0x80 for a failure. */
async function grantedQos(client: MqttClient, filter: string): Promise<number> {
  try {
    const [grant] = await client.subscribeAsync(filter, { qos: 1 });
    return grant!.qos;
  } catch (error) {
    // mqtt.js rejects a SUBACK with a failure code, the packet attached.
    if (error instanceof ErrorWithSubackPacket && error.packet.cmd === 'suback') return Number(error.packet.granted[0]);
    throw error;
  }
}

interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly packet: IPublishPacket;
}

function nextMessage(client: MqttClient): Promise<Received> {
  return new Promise((resolve) => {
    client.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString('latin1'), packet }));
  });
}

const isOnline = (d: TestDevice): boolean => connections.presence(d.deviceId).online;
const refusals = (what: 'subscription' | 'publish') => logs.filter((line) => line['msg'] === `MQTT ${what} refused`);

function command(version: string): FotaCommand {
  return {
    kind: 'fota',
    pushId: 'U00000000000',
    firmwareId: 'FAa6B540CMmJ',
    size: 1024,
    sha256: '0'.repeat(64),
    timestamp: 1513133357160,
    version,
    md5: '6A94D0C1E2F3A4B5C6D7E8F9A0B1C2D3',
    url: 'http://fw.example/f/P9Mx/6a94/a.bin',
  };
}
const expectedPayload = (version: string) =>
  `1513133357160,FOTA,${version},6a94d0c1e2f3a4b5c6d7e8f9a0b1c2d3,http://fw.example/f/P9Mx/6a94/a.bin`;

describe.each([
  ['MQTT 3.1, fixed client id', 3, 'v3'],
  ['MQTT 3.1.1', 4, 'v4'],
] as const)('%s', (_name, version, name) => {
  it('grants mcs/ID/KEY/+ and marks the device online over MQTT', async () => {
    const d = device(name);
    const client = await connect(version);
    expect(isOnline(d)).toBe(false);
    expect(await grantedQos(client, `${prefix(d)}/+`)).toBe(1);
    expect(connections.presence(d.deviceId)).toMatchObject({ online: true, protocol: 'mqtt' });
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'device.online', deviceId: d.deviceId, protocol: 'mqtt' }),
    );
    expect(broker.clientCount()).toBeGreaterThanOrEqual(1);
  });

  it('refuses a wrong key, another device, and wildcards across devices, with 0x80, and logs each refusal', async () => {
    const d = device(name);
    const stranger = device('stranger');
    const before = refusals('subscription').length;

    const wrongKey = await connect(version);
    expect(await grantedQos(wrongKey, `${prefix(stranger, 'WRONGKEY00000000')}/+`)).toBe(0x80);
    expect(
      await grantedQos(wrongKey, `${prefix({ deviceId: 'Dnothere', deviceKey: 'x' }, 'AAAAAAAAAAAAAAAA')}/+`),
    ).toBe(0x80);
    expect(isOnline(stranger)).toBe(false);

    const bound = await connect(version);
    expect(await grantedQos(bound, `${prefix(d)}/led`)).toBe(1);
    // Bound to its first device, the client may not subscribe for another, even with the right key.
    expect(await grantedQos(bound, `${prefix(stranger)}/+`)).toBe(0x80);
    for (const filter of [
      'mcs/#',
      '#',
      '+/+/+/+',
      `mcs/+/${stranger.deviceKey}/+`,
      `mcs/${stranger.deviceId}/+/+`,
      '$SYS/#',
    ]) {
      expect(await grantedQos(bound, filter), filter).toBe(0x80);
    }
    expect(isOnline(stranger)).toBe(false);

    const logged = refusals('subscription').slice(before);
    expect(logged).toHaveLength(9);
    expect(logged).toContainEqual(expect.objectContaining({ topic: `mcs/${stranger.deviceId}/***/+` }));
    expect(JSON.stringify(logs)).not.toContain(stranger.deviceKey);
  });

  it('does not deliver a publish under another device’s prefix to that device’s subscriber', async () => {
    const victim = device('other');
    const subscriber = await connect(4);
    expect(await grantedQos(subscriber, `${prefix(victim)}/+`)).toBe(1);
    const received: Received[] = [];
    subscriber.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), packet }));

    const attacker = await connect(version);
    expect(await grantedQos(attacker, `${prefix(device(name))}/+`)).toBe(1);
    const before = refusals('publish').length;
    await attacker.publishAsync(`${prefix(victim)}/led`, ',,1', { qos: 1 });
    await attacker.publishAsync(`${prefix(victim, 'WRONGKEY00000000')}/led`, ',,1', { qos: 1 });
    await attacker.publishAsync(`mcs/${victim.deviceId}`, ',led,1', { qos: 0 });
    await attacker.publishAsync('anything/else', 'x', { qos: 1 });
    expect(attacker.connected).toBe(true);

    // The victim's own publish is routed; the attacker's, sent before it, never arrive.
    const marker = nextMessage(subscriber);
    const owner = await connect(4);
    await owner.publishAsync(`${prefix(victim)}/led`, ',,marker', { qos: 1 });
    expect((await marker).payload).toBe(',,marker');
    expect(received.map((message) => message.payload)).toEqual([',,marker']);
    expect(refusals('publish').length - before).toBe(4);
    expect((await channels.list(victim.deviceId)).map((value) => value.values)).toEqual([{ value: 'marker' }]);
  });

  it('publishes the FOTA command exactly, at QoS 1, not retained, and reports the PUBACK', async () => {
    const d = device(name);
    const client = await connect(version);
    expect(await grantedQos(client, `${prefix(d)}/+`)).toBe(1);
    const connection = connections.current(d.deviceId)!;
    expect(connection.protocol).toBe('mqtt');

    const message = nextMessage(client);
    await connection.send(command('2.0'));
    const { topic, payload, packet } = await message;
    expect(topic).toBe(`${prefix(d)}/FOTA`);
    expect(payload).toBe(expectedPayload('2.0'));
    expect(packet.qos).toBe(1);
    expect(packet.retain).toBe(false);
    await vi.waitFor(() =>
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'device.acknowledged', deviceId: d.deviceId, pushId: 'U00000000000' }),
      ),
    );
  });

  it('stores data points published with a trailing NUL, one channel or several lines', async () => {
    const d = device(name);
    const client = await connect(version);
    await client.publishAsync(`${prefix(d)}/status`, Buffer.from(',,fotaing\0'), { qos: 1 });
    await client.publishAsync(prefix(d), '1513133357160,temp,26\r\n,gps,25.04,121.53,10\r\n', { qos: 1 });
    const stored = await channels.list(d.deviceId);
    expect(stored).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channelId: 'status', values: { value: 'fotaing' } }),
        { channelId: 'temp', values: { value: '26' }, timestamp: new Date(1513133357160) },
        expect.objectContaining({
          channelId: 'gps',
          values: { latitude: '25.04', longitude: '121.53', altitude: '10' },
        }),
      ]),
    );
    expect(events).toContainEqual(expect.objectContaining({ type: 'device.fotaing', deviceId: d.deviceId }));
  });

  it('refuses bad payloads, more than five data points and FOTA publishes without disconnecting', async () => {
    const d = device(name);
    const client = await connect(version);
    const before = refusals('publish').length;
    await client.publishAsync(`${prefix(d)}/junk`, 'no commas here', { qos: 1 });
    await client.publishAsync(prefix(d), [1, 2, 3, 4, 5, 6].map((n) => `,c${n},${n}`).join('\n'), { qos: 1 });
    await client.publishAsync(`${prefix(d)}/FOTA`, '1,FOTA,9,null,http://evil/x.bin', { qos: 1 });
    expect(client.connected).toBe(true);
    expect(refusals('publish').length - before).toBe(2);
    const channelIds = (await channels.list(d.deviceId)).map((value) => value.channelId);
    expect(channelIds).not.toContain('junk');
    expect(channelIds).not.toContain('c1');
    expect(channelIds).not.toContain('FOTA');
  });

  it('marks the device offline when the client disconnects', async () => {
    const d = device(name);
    const client = await connect(version);
    expect(await grantedQos(client, `${prefix(d)}/+`)).toBe(1);
    expect(isOnline(d)).toBe(true);
    const from = events.length;
    await client.endAsync();
    await vi.waitFor(() => expect(isOnline(d)).toBe(false));
    expect(events.slice(from)).toContainEqual(
      expect.objectContaining({ type: 'device.offline', deviceId: d.deviceId, protocol: 'mqtt' }),
    );
  });
});

it('keeps two devices online that share MediaTek’s fixed client id', async () => {
  const [a, b] = [device('twinA'), device('twinB')];
  const first = await connect(3, { clientId: 'mqtt-7687-client' });
  expect(await grantedQos(first, `${prefix(a)}/+`)).toBe(1);
  const second = await connect(3, { clientId: 'mqtt-7687-client' });
  expect(await grantedQos(second, `${prefix(b)}/+`)).toBe(1);
  expect(first.connected && second.connected).toBe(true);
  expect(isOnline(a) && isOnline(b)).toBe(true);
});

it('closes the older MQTT connection of a device when a newer one subscribes', async () => {
  const d = device('twinA');
  const older = await connect(4);
  expect(await grantedQos(older, `${prefix(d)}/+`)).toBe(1);
  const closed = new Promise<void>((resolve) => older.once('close', () => resolve()));
  const newer = await connect(4);
  expect(await grantedQos(newer, `${prefix(d)}/+`)).toBe(1);
  await closed;
  expect(isOnline(d)).toBe(true);
});

it('keeps the device seen on each PINGREQ and publish', async () => {
  const d = device('twinB');
  const client = await connect(3);
  expect(await grantedQos(client, `${prefix(d)}/+`)).toBe(1);
  const attachedAt = connections.presence(d.deviceId).lastSeen!.getTime();

  clockShift += 60_000;
  const pong = new Promise<void>((resolve) =>
    client.on('packetreceive', (packet) => packet.cmd === 'pingresp' && resolve()),
  );
  client.sendPing();
  await pong;
  expect(connections.presence(d.deviceId).lastSeen!.getTime()).toBeGreaterThanOrEqual(attachedAt + 60_000);

  clockShift += 60_000;
  await client.publishAsync(`${prefix(d)}/temp`, ',,21', { qos: 1 });
  expect(connections.presence(d.deviceId).lastSeen!.getTime()).toBeGreaterThanOrEqual(attachedAt + 120_000);
});

it('takes a device offline when its client unsubscribes from everything', async () => {
  const d = device('twinB');
  const client = await connect(4);
  expect(await grantedQos(client, `${prefix(d)}/+`)).toBe(1);
  expect(await grantedQos(client, `${prefix(d)}/led`)).toBe(1);
  await client.unsubscribeAsync(`${prefix(d)}/+`);
  expect(isOnline(d)).toBe(true);
  await client.unsubscribeAsync(`${prefix(d)}/led`);
  expect(isOnline(d)).toBe(false);
  expect(await grantedQos(client, `${prefix(d)}/+`)).toBe(1);
  expect(isOnline(d)).toBe(true);
});

it('sends FOTA at the QoS of the matching subscription, and refuses without one or once closed', async () => {
  const d = device('twinB');
  const client = await connect(4);
  expect(await grantedQos(client, `${prefix(d)}/led`)).toBe(1);
  const connection = connections.current(d.deviceId)!;
  await expect(connection.send(command('2.0'))).rejects.toThrow(/no subscription/);

  await client.subscribeAsync(`${prefix(d)}/+`, { qos: 0 });
  const message = nextMessage(client);
  const acknowledged = () => events.filter((event) => event.type === 'device.acknowledged').length;
  const before = acknowledged();
  await connection.send(command('2.0'));
  expect((await message).packet.qos).toBe(0);
  // A QoS 0 message has no PUBACK: nothing is told acknowledged.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(acknowledged()).toBe(before);

  await client.endAsync();
  await vi.waitFor(() => expect(isOnline(d)).toBe(false));
  await expect(connection.send(command('2.0'))).rejects.toThrow(/closed/);
});

it('stores a last will published under the device’s own prefix, and drops one under another’s', async () => {
  const d = device('twinB');
  const victim = device('other');
  const before = refusals('publish').length;
  const own = await connect(3, {
    will: { topic: `${prefix(d)}/status`, payload: Buffer.from(',,lost\0'), qos: 1, retain: false },
  });
  expect(await grantedQos(own, `${prefix(d)}/+`)).toBe(1);
  const foreign = await connect(4, {
    will: { topic: `${prefix(victim)}/led`, payload: Buffer.from(',,1'), qos: 1, retain: false },
  });
  expect(await grantedQos(foreign, `${prefix(device('twinA'))}/+`)).toBe(1);

  own.stream.destroy();
  foreign.stream.destroy();
  await vi.waitFor(async () => {
    expect(await channels.list(d.deviceId)).toContainEqual(
      expect.objectContaining({ channelId: 'status', values: { value: 'lost' } }),
    );
    expect(refusals('publish').slice(before)).toContainEqual(
      expect.objectContaining({ topic: `mcs/${victim.deviceId}/***/led` }),
    );
  });
});

it('drops a socket that sends junk, and goes on serving', async () => {
  const junk = tcpConnect(broker.port(), '127.0.0.1');
  await once(junk, 'connect');
  junk.on('error', () => {});
  junk.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await once(junk, 'close');

  const client = await connect(3);
  expect(await grantedQos(client, `${prefix(device('twinA'))}/+`)).toBe(1);
});

describe.each([
  ['mqttv31', 'sub31'],
  ['mqttv311', 'sub311'],
] as const)('mosquitto_sub -V %s', (protocol, name) => {
  it('receives the exact FOTA payload on mcs/ID/KEY/+', async () => {
    const d = device(name);
    const args = ['-h', '127.0.0.1', '-p', String(broker.port()), '-V', protocol, '-i', 'mqtt-7687-client'];
    const subscriber = spawn('mosquitto_sub', [
      ...args,
      '-k',
      '10',
      '-q',
      '1',
      '-t',
      `${prefix(d)}/+`,
      '-C',
      '1',
      '-v',
    ]);
    let stdout = '';
    let stderr = '';
    subscriber.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
    subscriber.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve, reject) => {
      subscriber.once('error', (error) =>
        reject(new Error(`mosquitto_sub could not run (${error.message}): apt-get install -y mosquitto-clients`)),
      );
      subscriber.once('close', (code) => resolve(code));
    });
    try {
      await Promise.race([
        vi.waitFor(() => expect(isOnline(d)).toBe(true), { timeout: 10_000 }),
        exited.then((code) => Promise.reject(new Error(`mosquitto_sub exited with ${code}: ${stderr}`))),
      ]);
      await connections.current(d.deviceId)!.send(command('3.1'));
      expect(await exited).toBe(0);
      expect(stdout).toBe(`${prefix(d)}/FOTA ${expectedPayload('3.1')}\n`);
    } finally {
      subscriber.kill();
    }
    await vi.waitFor(() => expect(isOnline(d)).toBe(false));
  });
});
