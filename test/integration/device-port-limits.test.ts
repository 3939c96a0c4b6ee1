import { rm } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { eventually } from '../support/data-dir.js';
import { connectOverTcp, type DeviceCredentials } from '../support/devices.js';
import { connectPacket, publishHeader, publishPacket } from '../support/mqtt-bytes.js';
import { startServer, testEnvironment, type TestServer } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

const sockets: TcpDevice[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
});

async function newDevice(server: TestServer, name = 'device'): Promise<DeviceCredentials> {
  const pid = (await server.api<any>('POST', '/prototypes', { name: `limits ${name}` })).body.prototypeId;
  return (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name })).body;
}

async function rawMqtt(server: TestServer): Promise<TcpDevice> {
  const socket = await TcpDevice.connect(server.app.mqtt()!.port());
  sockets.push(socket);
  return socket;
}

async function mqttClient(server: TestServer, keepalive = 0): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.app.mqtt()!.port()}`, {
    keepalive,
    reconnectPeriod: 0,
    clean: true,
  });
  clients.push(client);
  return client;
}

const closed = (socket: TcpDevice, ms = 5_000) =>
  eventually(
    async () => socket.isClosed(),
    (isClosed) => isClosed,
    ms,
  );

/** Stays connected for `ms`, or fails as soon as the socket closes. */
async function staysOpen(socket: TcpDevice, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect(socket.isClosed()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('FOTA_MQTT_MAX_PACKET_BYTES', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ FOTA_MQTT_MAX_PACKET_BYTES: '4096' });
  });
  afterAll(async () => server.stop());

  it('drops a socket whose first header declares a 100 MiB packet at once, before CONNECT, with no body sent', async () => {
    const socket = await rawMqtt(server);
    socket.send(publishHeader(100 * 1024 * 1024));
    await closed(socket);
  });

  it('drops a connected client whose header declares one byte past the limit, and keeps one at the limit', async () => {
    const device = await newDevice(server);
    const topic = `mcs/${device.deviceId}/${device.deviceKey}/big`;
    const atLimit = await rawMqtt(server);
    atLimit.send(connectPacket('at-limit'));
    await atLimit.waitFor('\x20\x02\x00\x00');
    // 4096 bytes in all: the type byte, a two-byte length, the topic with its length, the payload.
    const payload = 4096 - 3 - (2 + Buffer.byteLength(topic));
    const packet = publishPacket(topic, Buffer.alloc(payload, 0x61));
    expect(packet.length).toBe(4096);
    atLimit.send(packet);
    await staysOpen(atLimit, 500);

    const over = await rawMqtt(server);
    over.send(connectPacket('over-limit'));
    await over.waitFor('\x20\x02\x00\x00');
    over.send(publishHeader(4096 - 3 + 1));
    await closed(over);
    expect(atLimit.isClosed()).toBe(false);
  });
});

describe('MQTT will', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.stop());

  it('refuses a CONNECT whose will has QoS 3 by closing the connection without a CONNACK', async () => {
    const socket = await rawMqtt(server);
    socket.send(connectPacket('qos3-will', { topic: 'mcs/x/y/z', payload: 'bye', qos: 3 }));
    await closed(socket);
    expect(socket.text()).not.toContain('\x20\x02');
    // The same CONNECT with a QoS 1 will is accepted.
    const fine = await rawMqtt(server);
    fine.send(connectPacket('qos1-will', { topic: 'mcs/x/y/z', payload: 'bye', qos: 1 }));
    await fine.waitFor('\x20\x02\x00\x00');
  });
});

describe('clients that never identify a device', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ FOTA_MAX_DEVICE_CONNECTIONS: '12', FOTA_MQTT_IDENTIFY_TIMEOUT_S: '2' });
  });
  afterAll(async () => server.stop());

  it('closes an MQTT client that only pings after FOTA_MQTT_IDENTIFY_TIMEOUT_S, and keeps a device that subscribed', async () => {
    const device = await newDevice(server, 'identified');
    const idle = await mqttClient(server, 1);
    const subscribed = await mqttClient(server, 1);
    const [grant] = await subscribed.subscribeAsync(`mcs/${device.deviceId}/${device.deviceKey}/+`, { qos: 1 });
    expect(grant!.qos).toBe(1);
    await eventually(
      async () => idle.connected,
      (connected) => !connected,
      15_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(subscribed.connected).toBe(true);
  });
});

describe('the device socket budget with anonymous sockets', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ FOTA_MAX_DEVICE_CONNECTIONS: '12', FOTA_MQTT_IDENTIFY_TIMEOUT_S: '600' });
  });
  afterAll(async () => server.stop());

  it('lets devices in over TCP and MQTT while anonymous MQTT clients and silent TCP sockets fill the budget', async () => {
    const tcpDevice = await newDevice(server, 'tcp');
    const mqttDevice = await newDevice(server, 'mqtt');
    for (let i = 0; i < 6; i++) {
      const anonymous = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.app.mqtt()!.port()}`, {
        keepalive: 0,
        reconnectPeriod: 0,
      });
      clients.push(anonymous);
      sockets.push(await TcpDevice.connect(server.app.tcp()!.port()));
    }
    await eventually(
      async () => server.app.mqtt()!.clientCount(),
      (count) => count === 6,
    );

    sockets.push(await connectOverTcp(server, tcpDevice));
    const client = await mqttClient(server);
    const [grant] = await client.subscribeAsync(`mcs/${mqttDevice.deviceId}/${mqttDevice.deviceKey}/+`, { qos: 1 });
    expect(grant!.qos).toBe(1);
    await eventually(
      () => server.api<any>('GET', `/devices/${mqttDevice.deviceId}`),
      (answer) => answer.body.presence.online === true,
    );
    expect((await server.api<any>('GET', `/devices/${tcpDevice.deviceId}`)).body.presence.online).toBe(true);
  });
});

describe('FOTA_MAX_CHANNELS_PER_DEVICE', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ FOTA_MAX_CHANNELS_PER_DEVICE: '3' });
  });
  afterAll(async () => server.stop());

  const upload = (server: TestServer, device: DeviceCredentials, csv: string) =>
    fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/datapoints.csv`, {
      method: 'POST',
      headers: { deviceKey: device.deviceKey },
      body: csv,
    });
  const channelIds = async (server: TestServer, device: DeviceCredentials) =>
    ((await server.api<any>('GET', `/devices/${device.deviceId}`)).body.channels as any[])
      .map((channel) => channel.channelId as string)
      .sort();

  it('refuses a new channel past the cap over HTTP (CSV and JSON) and MQTT, and keeps taking values for the others', async () => {
    const device = await newDevice(server);
    expect(await (await upload(server, device, 'a,,1\nb,,1\nc,,1')).text()).toBe('Success.');

    const csv = await upload(server, device, 'a,,2\nd,,1');
    expect(csv.status).toBe(400);
    expect(await csv.text()).toBe('400,None of data points uploaded success.');

    const json = await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/datapoints`, {
      method: 'POST',
      headers: { deviceKey: device.deviceKey },
      body: JSON.stringify({ datapoints: [{ dataChnId: 'e', values: { value: '1' } }] }),
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ code: 400, statusCode: 400, errors: [{ code: 400 }] });

    const client = await mqttClient(server);
    await client.publishAsync(`mcs/${device.deviceId}/${device.deviceKey}/f`, ',,1', { qos: 1 });
    await client.publishAsync(`mcs/${device.deviceId}/${device.deviceKey}/a`, ',,3', { qos: 1 });
    await eventually(
      () => server.api<any>('GET', `/devices/${device.deviceId}`),
      (answer) => answer.body.channels.find((channel: any) => channel.channelId === 'a')?.values.value === '3',
    );
    expect(await channelIds(server, device)).toEqual(['a', 'b', 'c']);
  });
});

describe('device keys in the log', () => {
  it('never logs the key of a refused /mcs/ID/KEY/+ or $share/g/mcs/ID/KEY/+ subscription or publish', async () => {
    const env = await testEnvironment({ FOTA_LOG_LEVEL: 'debug' });
    const lines: string[] = [];
    const app = await createApp(
      loadConfig(env),
      pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }),
    );
    await app.start();
    try {
      const api = async (path: string, body: unknown) =>
        (
          await fetch(`${app.url()}/api/v1${path}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).json() as Promise<any>;
      const pid = (await api('/prototypes', { name: 'keys' })).prototypeId;
      const device = await api(`/prototypes/${pid}/devices`, { name: 'k' });
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${app.mqtt()!.port()}`, { reconnectPeriod: 0 });
      clients.push(client);
      const { deviceId, deviceKey } = device as DeviceCredentials;
      for (const filter of [`/mcs/${deviceId}/${deviceKey}/+`, `$share/g/mcs/${deviceId}/${deviceKey}/+`]) {
        await client.subscribeAsync(filter).catch(() => undefined);
      }
      await client.publishAsync(`/mcs/${deviceId}/${deviceKey}/temp`, ',,1', { qos: 1 });
      await eventually(
        async () => lines.filter((line) => line.includes('refused')).length,
        (count) => count >= 3,
      );
      expect(lines.join('\n')).toContain(deviceId);
      expect(lines.join('\n')).not.toContain(deviceKey);
    } finally {
      await app.stop();
      await rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true });
    }
  });
});
