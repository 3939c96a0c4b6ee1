import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents, type StreamEvent } from '../../src/contract/event-stream.js';
import { eventually } from '../support/data-dir.js';
import { connectOverTcp, reportVersion } from '../support/devices.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

/**
 * A device that opens a new connection of the same protocol while its old one is still attached
 * (it rebooted before the server saw its old socket go): the new connection takes over, the old
 * one is closed, and the device is announced online once more, with what waits for it sent to the
 * new connection.
 */
let server: TestServer;
let prototypeId: string;
let firmware: any;
const stream = new AbortController();
const events: StreamEvent[] = [];
const clients: mqtt.MqttClient[] = [];
const sockets: TcpDevice[] = [];

beforeAll(async () => {
  server = await startServer();
  prototypeId = (await server.api<any>('POST', '/prototypes', { name: 'reconnect' })).body.prototypeId;
  await uploadFirmware(server, prototypeId, { name: 'one', version: '1' }, 'one');
  firmware = (await uploadFirmware(server, prototypeId, { name: 'two', version: '2' }, 'two bytes')).body;
  const response = await fetch(`${server.url}/api/v1/events`, {
    headers: { authorization: `Bearer ${server.token}` },
    signal: stream.signal,
  });
  expect(response.status).toBe(200);
  readEvents(response, (event) => events.push(event)).catch(() => undefined);
});
afterAll(async () => {
  stream.abort();
  for (const socket of sockets) socket.close();
  await Promise.all(clients.map((client) => client.endAsync(true)));
  await server.stop();
});

async function newDevice(name: string): Promise<{ deviceId: string; deviceKey: string }> {
  const device = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name })).body;
  expect(await reportVersion(server, device, '1')).toBe(200);
  return device;
}

/** The device's presence events on the stream, in order: `online tcp`, `offline mqtt`, ... */
const presenceEvents = (deviceId: string) =>
  events
    .filter((event) => event.data['deviceId'] === deviceId && event.type.startsWith('device.o'))
    .map((event) => `${event.type.slice('device.'.length)} ${String(event.data['protocol'])}`);

const presenceOf = async (deviceId: string) => (await server.api<any>('GET', `/devices/${deviceId}`)).body.presence;

async function connectMqtt(device: { deviceId: string; deviceKey: string }, clientId: string, filter: string) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.app.mqtt()!.port()}`, {
    clientId,
    clean: true,
    reconnectPeriod: 0,
  });
  clients.push(client);
  const messages: string[] = [];
  client.on('message', (topic) => messages.push(topic));
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const granted = await client.subscribeAsync(`mcs/${device.deviceId}/${device.deviceKey}/${filter}`, { qos: 1 });
  expect(granted[0]!.qos).toBe(1);
  return { client, messages, closed };
}

describe('a device that reconnects over the same protocol while its old connection is attached', () => {
  it('over TCP: closes the old socket, and says online once more, not offline', async () => {
    const device = await newDevice('tcp');
    const old = await connectOverTcp(server, device);
    sockets.push(old);
    await eventually(
      async () => presenceEvents(device.deviceId),
      (seen) => seen.length === 1,
    );
    const before = await presenceOf(device.deviceId);

    const takeover = Date.now();
    const fresh = await TcpDevice.connect(server.app.tcp()!.port());
    sockets.push(fresh);
    fresh.send(`${device.deviceId},${device.deviceKey},0`);
    await eventually(
      async () => old.isClosed(),
      (closed) => closed,
    );
    await eventually(
      async () => presenceEvents(device.deviceId),
      (seen) => seen.length === 2,
    );
    expect(presenceEvents(device.deviceId)).toEqual(['online tcp', 'online tcp']);
    const after = await presenceOf(device.deviceId);
    expect(after).toMatchObject({ online: true, protocol: 'tcp' });
    expect(Date.parse(after.since)).toBeGreaterThan(Date.parse(before.since));
    expect(Date.parse(after.since)).toBeGreaterThanOrEqual(takeover - 1000);
    expect(fresh.isClosed()).toBe(false);
  });

  it('over MQTT: a push queued for it goes to the new connection', async () => {
    const device = await newDevice('mqtt');
    // The old connection subscribed to one topic of the device, not to its FOTA topic.
    const old = await connectMqtt(device, `old-${device.deviceId}`, 'temp');
    await eventually(
      () => presenceOf(device.deviceId),
      (presence) => presence.online === true,
    );
    const answer = await server.api<any>('POST', `/firmwares/${firmware.fwId}/push`, {
      deviceIds: [device.deviceId],
      queueOffline: true,
    });
    expect(answer.status).toBe(201);
    const pushId = answer.body.pushId;
    // Its command could not go out on that connection: it waits for the next one.
    const targetOf = async () => (await server.api<any>('GET', `/pushes/${pushId}/targets`)).body.targets[0];
    await eventually(targetOf, (target) => target.status === 'queued' && /queued for the next/.test(target.reason));

    const fresh = await connectMqtt(device, `new-${device.deviceId}`, '+');
    await old.closed;
    await eventually(
      async () => fresh.messages,
      (topics) => topics.includes(`mcs/${device.deviceId}/${device.deviceKey}/FOTA`),
    );
    expect(await targetOf()).toMatchObject({ status: 'sent', reason: 'over mqtt' });
    expect(old.messages).toEqual([]);
    expect(presenceEvents(device.deviceId)).toEqual(['online mqtt', 'online mqtt']);
    expect(fresh.client.connected).toBe(true);
  });
});
