import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { ErrorWithSubackPacket } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

/**
 * The bounds of what one MQTT client may make the broker keep, against a real server (aedes with
 * its in-memory persistence, as on one node) and mqtt.js clients: the queue of a persistent
 * session (FOTA_MQTT_QUEUE_MAX, FOTA_MQTT_QUEUE_TTL_S) and the filters a client holds
 * (FOTA_MQTT_MAX_SUBSCRIPTIONS). The Redis persistence's are in test/engines/redis-mqtt.test.ts.
 */
let counted: TestServer;
let expiring: TestServer;
const clients: mqtt.MqttClient[] = [];

const eventually = <T>(assertion: () => Promise<T> | T) => vi.waitFor(assertion, { timeout: 30_000, interval: 100 });

beforeAll(async () => {
  [counted, expiring] = await Promise.all([
    startServer({ FOTA_MQTT_QUEUE_MAX: '3', FOTA_MQTT_MAX_SUBSCRIPTIONS: '2' }),
    startServer({ FOTA_MQTT_QUEUE_TTL_S: '1' }),
  ]);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
});

afterAll(async () => {
  await counted?.stop();
  await expiring?.stop();
});

async function newDevice(server: TestServer): Promise<string> {
  const prototypeId = (await server.api<any>('POST', '/prototypes', { name: `p${randomBytes(3).toString('hex')}` }))
    .body.prototypeId;
  const device = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name: 'd' })).body;
  return `mcs/${device.deviceId}/${device.deviceKey}`;
}

async function connect(server: TestServer, options: { clientId: string; clean: boolean }) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.app.mqtt()!.port()}`, {
    protocolVersion: 4,
    keepalive: 60,
    reconnectPeriod: 0,
    ...options,
  });
  clients.push(client);
  const payloads: string[] = [];
  client.on('message', (_topic, payload) => payloads.push(payload.toString()));
  return { client, payloads };
}

/** Makes a persistent session subscribed to the device's topics, and leaves it offline. */
async function leaveSession(server: TestServer, prefix: string): Promise<string> {
  const clientId = `persistent-${randomBytes(6).toString('hex')}`;
  const { client } = await connect(server, { clientId, clean: false });
  expect((await client.subscribeAsync(`${prefix}/+`, { qos: 1 }))[0]!.qos).toBe(1);
  await client.endAsync();
  return clientId;
}

/** Uploads from another connection of the device, each acknowledged by the broker (so routed). */
async function upload(server: TestServer, prefix: string, values: readonly string[]): Promise<void> {
  const { client } = await connect(server, { clientId: `uploader-${randomBytes(6).toString('hex')}`, clean: true });
  for (const value of values) await client.publishAsync(`${prefix}/temp`, `,temp,${value}`, { qos: 1 });
  await client.endAsync();
}

/** Resumes the session, then uploads a marker: once it arrives, whatever was queued has arrived before it. */
async function resume(server: TestServer, prefix: string, clientId: string): Promise<string[]> {
  const resumed = await connect(server, { clientId, clean: false });
  await upload(server, prefix, ['marker']);
  await eventually(() => expect(resumed.payloads).toContain(',temp,marker'));
  return resumed.payloads;
}

describe('the queue of a persistent MQTT session, in memory', () => {
  it('keeps the newest FOTA_MQTT_QUEUE_MAX messages for an offline client, dropping the oldest', async () => {
    const prefix = await newDevice(counted);
    const clientId = await leaveSession(counted, prefix);
    await upload(counted, prefix, ['1', '2', '3', '4', '5']);
    expect(await resume(counted, prefix, clientId)).toEqual([',temp,3', ',temp,4', ',temp,5', ',temp,marker']);
  });

  it('drops what waited longer than FOTA_MQTT_QUEUE_TTL_S, and still delivers what comes after', async () => {
    const prefix = await newDevice(expiring);
    const clientId = await leaveSession(expiring, prefix);
    await upload(expiring, prefix, ['1', '2']);
    // The TTL is one second; waiting longer is the only way to see it pass on a real server.
    await sleep(2500);
    expect(await resume(expiring, prefix, clientId)).toEqual([',temp,marker']);
  });

  it('delivers what was queued within the TTL (the control of the test above)', async () => {
    const prefix = await newDevice(expiring);
    const clientId = await leaveSession(expiring, prefix);
    await upload(expiring, prefix, ['1']);
    const resumed = await connect(expiring, { clientId, clean: false });
    await eventually(() => expect(resumed.payloads).toEqual([',temp,1']));
  });
});

describe('subscriptions of one MQTT client', () => {
  /** The SUBACK's return code for one filter: the granted QoS, or 0x80 for a failure. */
  async function grantedQos(client: mqtt.MqttClient, filter: string): Promise<number> {
    try {
      return (await client.subscribeAsync(filter, { qos: 1 }))[0]!.qos;
    } catch (error) {
      if (error instanceof ErrorWithSubackPacket && error.packet.cmd === 'suback')
        return Number(error.packet.granted[0]);
      throw error;
    }
  }

  it('holds at most FOTA_MQTT_MAX_SUBSCRIPTIONS filters; one unsubscribed frees its place', async () => {
    const prefix = await newDevice(counted);
    const { client } = await connect(counted, { clientId: `subs-${randomBytes(6).toString('hex')}`, clean: true });
    expect(await grantedQos(client, `${prefix}/a`)).toBe(1);
    expect(await grantedQos(client, `${prefix}/b`)).toBe(1);
    expect(await grantedQos(client, `${prefix}/c`)).toBe(0x80);
    // Subscribing again to a filter it holds takes no new place.
    expect(await grantedQos(client, `${prefix}/a`)).toBe(1);
    await client.unsubscribeAsync(`${prefix}/b`);
    expect(await grantedQos(client, `${prefix}/c`)).toBe(1);
    // The client stays connected and served: the refusal closed nothing.
    expect(client.connected).toBe(true);
  });
});
