import { progress } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import { publisher, randomToken } from '../push/anchor.js';
import { startMosquitto, type Mosquitto } from '../push/mosquitto.js';
import { expectFota, measureDelivery, type DeliveryFigures } from '../push/phases.js';
import type { SwarmDevice, SwarmTarget } from '../push/protocol.js';
import type { Swarms } from '../push/swarms.js';
import type { FirmwareAnswer, FotaServer } from '../lib/fota-server.js';
import { closeAll, connectDevices, distinct, expectation, targetOf, type ConnectStage } from './fleet.js';

/** Subscribers one mosquitto holds at most: each process may open 20,000 files here. */
export const MOSQUITTO_SUBSCRIBERS = 15_000;

export interface PeerStage {
  readonly brokers: number;
  readonly connect: ConnectStage;
  readonly delivery: DeliveryFigures & { readonly expected: number; readonly distinctTokens: number };
  readonly publishLoopMs: number;
  readonly pubacks: number;
  readonly timedOut: boolean;
}

/**
 * The peer of the large push: as many Debian mosquitto processes as it takes to hold `devices` as
 * MQTT subscribers (`mcs/ID/KEY/+`, QoS 1, the same swarms, source addresses and client), and one
 * publisher per mosquitto in the bench process publishing every device's FOTA payload, byte for byte
 * what fota sends over MQTT, at QoS 1 to `mcs/ID/KEY/FOTA`, all publishers at once. Time from the
 * first publish to the last subscriber's receipt, checked as fota's are.
 */
export async function mosquittoPeer(
  resources: Resources,
  binary: string,
  swarms: Swarms,
  devices: readonly SwarmDevice[],
  sourceAddress: (swarm: number) => string | undefined,
  like: { readonly first: FotaServer; readonly firmware: FirmwareAnswer },
  boundMs: number,
): Promise<PeerStage> {
  const count = Math.max(1, Math.ceil(devices.length / MOSQUITTO_SUBSCRIBERS));
  const brokers: Mosquitto[] = [];
  for (let i = 0; i < count; i++) {
    brokers.push(await startMosquitto(resources, binary, await resources.tempDir('fota-bench-mosquitto-')));
  }
  const pids = brokers.map((broker) => broker.child.pid);
  try {
    const subscribers = devices.map((device) => ({ ...device, protocol: 'mqtt' as const }));
    const targets: SwarmTarget[] = brokers.map((broker) => ({ host: '127.0.0.1', tcpPort: 0, mqttPort: broker.port }));
    progress(`peer: connecting ${subscribers.length} subscribers to ${count} mosquitto processes`);
    const connect = await connectDevices(swarms, pids, 'mqtt', subscribers, targets, sourceAddress, 20 * 60_000);
    if (connect.failed > 0) {
      throw new Error(`${connect.failed} subscribers could not connect to mosquitto; the first: ${connect.firstError}`);
    }
    // Which broker each subscriber is on, as connectDevices dealt them.
    const perBroker: SwarmDevice[][] = brokers.map(() => []);
    subscribers.forEach((device, i) => perBroker[targetOf(i, swarms.count, count)]!.push(device));
    if (perBroker.some((list) => list.length > 65_535)) throw new Error('more than 65,535 messages for one publisher');

    const fota = expectation(like.first, like.firmware, Date.now());
    const expected = await expectFota(swarms, fota);
    let pubacks = 0;
    const clients = await Promise.all(brokers.map((broker) => publisher(broker.port, () => pubacks++)));
    let publishLoopMs = 0;
    try {
      const tokens = perBroker.map((list) => list.map(() => randomToken()));
      progress(`peer: ${count} publishers publish ${subscribers.length} FOTA payloads at QoS 1`);
      const measured = await measureDelivery(swarms, pids, boundMs, async () => {
        const start = Date.now();
        perBroker.forEach((list, b) =>
          list.forEach((device, i) => {
            const payload = Buffer.from(
              `${Date.now()},FOTA,${fota.version},${fota.md5},${fota.urlPrefix}${tokens[b]![i]}`,
            );
            clients[b]!.publish(`mcs/${device.id}/${device.key}/FOTA`, payload, 1, i + 1);
          }),
        );
        publishLoopMs = Date.now() - start;
      });
      const { receipts, ...delivery } = measured;
      return {
        brokers: count,
        connect,
        delivery: { ...delivery, expected, distinctTokens: distinct(receipts) },
        publishLoopMs,
        pubacks,
        timedOut: delivery.all.count < expected,
      };
    } finally {
      for (const client of clients) client.destroy();
    }
  } finally {
    await closeAll(swarms);
    for (const broker of brokers) await broker.child.stop();
  }
}
