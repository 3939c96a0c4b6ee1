import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/data-dir.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

let server: TestServer;
let prototypeId: string;
const fw: Record<string, any> = {};
const clients: mqtt.MqttClient[] = [];

beforeAll(async () => {
  server = await startServer();
  prototypeId = (await server.api<any>('POST', '/prototypes', { name: 'mqtt push' })).body.prototypeId;
  fw['1'] = (await uploadFirmware(server, prototypeId, { name: 'one', version: '1' }, 'one')).body;
  fw['2'] = (await uploadFirmware(server, prototypeId, { name: 'two', version: '2' }, 'two bytes')).body;
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true)));
  await server.stop();
});

async function newDevice(name: string): Promise<{ deviceId: string; deviceKey: string }> {
  const device = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name })).body;
  await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
    method: 'PUT',
    headers: { deviceKey: device.deviceKey },
    body: '{"version":"1"}',
  });
  return device;
}

async function connectDevice(device: { deviceId: string; deviceKey: string }, protocolVersion: 3 | 4) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.app.mqtt()!.port()}`, {
    protocolVersion,
    clientId: `c-${device.deviceId}`,
    clean: true,
    keepalive: protocolVersion === 3 ? 10 : 60,
    reconnectPeriod: 0,
  });
  clients.push(client);
  const messages: Array<{ topic: string; payload: string; qos: number }> = [];
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString(), qos: packet.qos }),
  );
  const granted = await client.subscribeAsync(`mcs/${device.deviceId}/${device.deviceKey}/+`, { qos: 1 });
  expect(granted[0]!.qos).toBe(1);
  await eventually(
    () => server.api<any>('GET', `/devices/${device.deviceId}`),
    (answer) => answer.body.presence.online && answer.body.presence.protocol === 'mqtt',
  );
  return { client, messages };
}

const statusOf = async (pushId: string) => (await server.api<any>('GET', `/pushes/${pushId}/targets`)).body.targets[0];

describe('a push over MQTT', () => {
  it.each([3, 4] as const)('reaches upgraded with MQTT protocol level %i', async (protocolVersion) => {
    const device = await newDevice(`level ${protocolVersion}`);
    const { client, messages } = await connectDevice(device, protocolVersion);
    const answer = await server.api<any>('POST', `/firmwares/${fw['2'].fwId}/push`, { deviceIds: [device.deviceId] });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ status: 'pending', counts: { queued: 1 } });
    const [message] = await eventually(
      async () => messages,
      (list) => list.length > 0,
    );
    expect(message!.topic).toBe(`mcs/${device.deviceId}/${device.deviceKey}/FOTA`);
    expect(message!.qos).toBe(1);
    expect(message!.payload).toMatch(
      new RegExp(`^\\d{13},FOTA,2,${fw['2'].md5},${server.url.replace(/\./g, '\\.')}/fw/p/[A-Za-z0-9]{21}$`),
    );
    await eventually(
      () => statusOf(answer.body.pushId),
      (target) => target.status === 'delivered',
    );
    // The device says it starts downloading, over MQTT, then reports the new version over HTTP.
    await client.publishAsync(`mcs/${device.deviceId}/${device.deviceKey}/status`, ',status,fotaing\u0000', { qos: 1 });
    await eventually(
      () => statusOf(answer.body.pushId),
      (target) => target.status === 'downloading',
    );
    const url = message!.payload.split(',')[4]!;
    expect(await (await fetch(url)).text()).toBe('two bytes');
    await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
      method: 'PUT',
      headers: { deviceKey: device.deviceKey },
      body: '{"version":"2"}',
    });
    const done = await eventually(
      () => statusOf(answer.body.pushId),
      (target) => target.status === 'upgraded',
    );
    expect(done.history.map((step: any) => step.status)).toEqual([
      'queued',
      'sent',
      'delivered',
      'downloading',
      'upgraded',
    ]);
  });

  it('delivers a queued push once when the device subscribes', async () => {
    const device = await newDevice('queued');
    const answer = await server.api<any>('POST', `/firmwares/${fw['2'].fwId}/push`, {
      deviceIds: [device.deviceId],
      queueOffline: true,
    });
    expect(answer.body.counts.queued).toBe(1);
    const first = await connectDevice(device, 4);
    await eventually(
      async () => first.messages,
      (list) => list.length === 1,
    );
    await first.client.endAsync();
    await eventually(
      () => server.api<any>('GET', `/devices/${device.deviceId}`),
      (d) => d.body.presence.online === false,
    );
    const second = await connectDevice(device, 4);
    await second.client.publishAsync(`mcs/${device.deviceId}/${device.deviceKey}/temp`, ',temp,21', { qos: 1 });
    await eventually(
      () => server.api<any>('GET', `/devices/${device.deviceId}`),
      (d) => d.body.channels.some((c: any) => c.channelId === 'temp'),
    );
    // Neither the device's own data point (MediaTek's C client crashes on it) nor a FOTA comes back.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(second.messages).toEqual([]);
    expect(first.messages.filter((m) => m.topic.endsWith('/FOTA'))).toHaveLength(1);
  });

  it("reaches Debian's mosquitto_sub with the exact FOTA payload", async () => {
    const device = await newDevice('mosquitto');
    const child = spawn(
      'mosquitto_sub',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(server.app.mqtt()!.port()),
        '-V',
        'mqttv311',
        '-q',
        '1',
        '-C',
        '1',
        '-v',
        '-t',
        `mcs/${device.deviceId}/${device.deviceKey}/+`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', (error) =>
        reject(new Error(`mosquitto_sub could not start (apt-get install mosquitto-clients): ${error.message}`)),
      );
      child.on('exit', resolve);
    });
    try {
      await eventually(
        () => server.api<any>('GET', `/devices/${device.deviceId}`),
        (d) => d.body.presence.online === true,
      );
      const answer = await server.api<any>('POST', `/firmwares/${fw['2'].fwId}/push`, { deviceIds: [device.deviceId] });
      expect(answer.body.counts.queued).toBe(1);
      expect(await exited).toBe(0);
      const [topic, payload] = output.trim().split(' ');
      expect(topic).toBe(`mcs/${device.deviceId}/${device.deviceKey}/FOTA`);
      expect(payload).toMatch(new RegExp(`^\\d{13},FOTA,2,${fw['2'].md5},\\S+/fw/p/[A-Za-z0-9]{21}$`));
    } finally {
      child.kill();
      expect(errors).toBe('');
    }
  });

  it('closes the MQTT session of a device whose key is rotated', async () => {
    const device = await newDevice('rotated');
    const { client } = await connectDevice(device, 4);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect((await server.api<any>('POST', `/devices/${device.deviceId}/key`)).status).toBe(200);
    await closed;
    await eventually(
      () => server.api<any>('GET', `/devices/${device.deviceId}`),
      (d) => d.body.presence.online === false,
    );
  });

  it("does not send a device's own upload back to the connection that published it", async () => {
    const device = await newDevice('echo');
    const { client, messages } = await connectDevice(device, 4);
    await client.publishAsync(`mcs/${device.deviceId}/${device.deviceKey}/temp`, ',temp,1', { qos: 1 });
    await client.publishAsync(`mcs/${device.deviceId}/${device.deviceKey}/hum`, ',hum,2', { qos: 0 });
    // The FOTA topic still reaches it: only what it published itself is held back.
    const answer = await server.api<any>('POST', `/firmwares/${fw['2'].fwId}/push`, {
      deviceIds: [device.deviceId],
      force: true,
    });
    expect(answer.status).toBe(201);
    await eventually(
      async () => messages,
      (list) => list.length > 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(messages.map((m) => m.topic)).toEqual([`mcs/${device.deviceId}/${device.deviceKey}/FOTA`]);
  });
});
