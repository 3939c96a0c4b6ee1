import fc from 'fast-check';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import {
  connectPacket,
  DISCONNECT,
  PINGREQ,
  publishHeader,
  publishPacketQos,
  subscribePacket,
} from '../support/mqtt-bytes.js';
import { fuzzRawPort, fuzzTarget, printFigures, STRESS_SEED } from '../support/stress.js';

const CASES = 1200;
const PARALLEL = 12;

const target = fuzzTarget('mqtt fuzz');

/** Packets, well-formed or not, as a hostile or broken MQTT client sends them. */
function packets(valid: { deviceId: string; deviceKey: string }) {
  const prefix = `mcs/${valid.deviceId}/${valid.deviceKey}`;
  const level = fc.stringMatching(/^[A-Za-z0-9+#$_-]{0,20}$/);
  const topic = fc.oneof(
    fc.constantFrom(
      prefix,
      `${prefix}/+`,
      `${prefix}/#`,
      `${prefix}/FOTA`,
      `/${prefix}/+`,
      `$share/g/${prefix}/+`,
      '#',
    ),
    level.map((channel) => `${prefix}/${channel}`),
    fc.array(level, { maxLength: 6 }).map((levels) => levels.join('/')),
    fc.string({ maxLength: 60 }),
  );
  const payload = fc.oneof(
    fc.constantFrom(',,26', '1513133357160,temp,26\0', ',,', '', 'a,b,c,d,e,f', '\0\0\0'),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)),
  );
  const messageId = fc.integer({ min: 0, max: 65535 });
  const connect = fc
    .tuple(
      fc.string({ maxLength: 30 }),
      fc.option(fc.tuple(topic, fc.string({ maxLength: 30 }), fc.integer({ min: 0, max: 3 }))),
    )
    .map(([clientId, will]) =>
      connectPacket(clientId, will ? { topic: will[0], payload: will[1], qos: will[2] } : undefined),
    );
  const packet = fc.oneof(
    { weight: 2, arbitrary: connect },
    {
      weight: 4,
      arbitrary: fc
        .tuple(topic, payload, fc.integer({ min: 0, max: 3 }), messageId)
        .map(([t, p, q, m]) => publishPacketQos(t, p, q, m)),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(topic, fc.integer({ min: 0, max: 255 }), messageId)
        .map(([t, q, m]) => subscribePacket(t, q, m)),
    },
    { weight: 1, arbitrary: fc.constantFrom(PINGREQ, DISCONNECT) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
    // A header that declares far more than the limit, followed by a body that never ends.
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 9000, max: 200_000_000 })
        .map((n) => Buffer.concat([publishHeader(n), Buffer.alloc(64 * 1024)])),
    },
  );
  // Most cases start with a valid CONNECT, so that the packets after it reach the broker's hooks.
  return fc
    .tuple(fc.boolean(), fc.array(packet, { minLength: 1, maxLength: 8 }))
    .map(([connected, rest]) => (connected ? [connectPacket('fuzz'), ...rest] : rest));
}

describe('MQTT broker fuzz', () => {
  it('survives every case, still serves a valid device after, and prints its figures', async () => {
    const { server, device } = target;
    const rssBefore = await server.rssMiB();
    const cases = fc.sample(packets(device), { seed: STRESS_SEED, numRuns: CASES });
    const { tried, closedByServer, crashes } = await fuzzRawPort(server, server.mqttPort, cases, PARALLEL);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { reconnectPeriod: 0 });
    const [grant] = await client.subscribeAsync(`mcs/${device.deviceId}/${device.deviceKey}/+`, { qos: 1 });
    await client.publishAsync(`mcs/${device.deviceId}/${device.deviceKey}/after`, ',,ok', { qos: 1 });
    await client.endAsync();
    const rssAfter = await server.rssMiB();
    printFigures('MQTT broker fuzz', {
      'cases tried': tried,
      'closed by the server': closedByServer,
      crashes,
      'valid device after': `subscribed at QoS ${grant!.qos}`,
      'RSS before (MiB)': rssBefore,
      'RSS after (MiB)': rssAfter,
    });
    expect(crashes, server.child.output()).toBe(0);
    expect(tried).toBe(CASES);
    expect(grant!.qos).toBe(1);
    const channels = (await server.api('GET', `/devices/${device.deviceId}`)).body.channels as any[];
    expect(channels.find((channel) => channel.channelId === 'after')?.values.value).toBe('ok');
    expect(rssAfter - rssBefore).toBeLessThan(150);
  });
});
