import { randomInt } from 'node:crypto';
import { progress } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import { CONNECT_CONCURRENCY, fleetExpectation, KEEPALIVE_S, type Fleet } from './fleet.js';
import { LeanMqttClient } from './lean-mqtt.js';
import { startMosquitto } from './mosquitto.js';
import type { PushBenchOptions } from './options.js';
import { distinctTokens, PROBE_INTERVAL_MS } from './fanout.js';
import {
  connectPhase,
  expectFota,
  measureDelivery,
  type ConnectFigures,
  type DeliveryFigures,
  type ProbeRun,
} from './phases.js';
import { reconnectStorm, type StormFigures } from './storm.js';
import { DOWNLOAD_TOKEN_LENGTH, type SwarmDevice } from './protocol.js';
import type { Swarms } from './swarms.js';

export interface AnchorFigures {
  readonly connect: ConnectFigures;
  readonly fanout:
    | (DeliveryFigures & {
        /** Milliseconds from the first publish to the last PUBACK the publisher received. */
        readonly pubackMs: number;
        /** Milliseconds the publisher's loop took to hand every PUBLISH to its socket. */
        readonly publishLoopMs: number;
      })
    | undefined;
  readonly storm: StormFigures | undefined;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const randomToken = (): string =>
  Array.from({ length: DOWNLOAD_TOKEN_LENGTH }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');

/** Opens the publisher and resolves once mosquitto accepted it. */
export function publisher(port: number, onPuback: () => void): Promise<LeanMqttClient> {
  return new Promise((resolve, reject) => {
    const client: LeanMqttClient = new LeanMqttClient(
      { host: '127.0.0.1', port, clientId: 'bench-publisher', keepaliveS: 0 },
      {
        onConnack: (code) => (code === 0 ? resolve(client) : reject(new Error(`publisher CONNACK ${code}`))),
        onSuback: () => undefined,
        onPublish: () => undefined,
        onPuback,
        onProblem: (problem) => reject(new Error(`publisher: ${problem}`)),
        onClose: (reason) => reject(new Error(`publisher: ${reason}`)),
      },
    );
  });
}

/**
 * The anchor of parts 1 and 3: Debian's mosquitto with one subscriber per fleet device, each on
 * `mcs/ID/KEY/+` at QoS 1, held by the same swarm processes with the same MQTT client. One publisher
 * (in the bench process) publishes each device's FOTA payload, byte for byte what fota sends over
 * MQTT, at QoS 1 to `mcs/ID/KEY/FOTA`; every subscriber checks it as it checks fota's. Then, with
 * `storm`, every subscriber drops and reconnects at once.
 */
export async function mosquittoAnchor(
  resources: Resources,
  swarms: Swarms,
  options: PushBenchOptions,
  binary: string,
  fleet: Fleet,
  parts: { readonly fanout: boolean; readonly storm: boolean },
  probeSwarm: Swarms,
): Promise<AnchorFigures> {
  const folder = await resources.tempDir('fota-bench-mosquitto-');
  const mosquitto = await startMosquitto(resources, binary, folder);
  const pid = mosquitto.child.pid;
  try {
    const devices = fleet.devices.map((device) => ({ ...device, protocol: 'mqtt' as const }));
    progress(`anchor: connecting ${devices.length} subscribers to mosquitto`);
    const connect = await connectPhase(swarms, pid, (index) => ({
      target: { host: '127.0.0.1', tcpPort: 0, mqttPort: mosquitto.port },
      devices: fleet.shares[index]!.map((device) => ({ ...device, protocol: 'mqtt' as const })),
      localAddress: undefined,
      concurrency: CONNECT_CONCURRENCY,
      ackTimeoutMs: 60_000,
      stopOnFailure: false,
      mqttClient: options.mqttClient,
      keepaliveS: KEEPALIVE_S,
    }));
    if (connect.failed > 0) {
      throw new Error(`${connect.failed} subscribers could not connect to mosquitto; the first: ${connect.firstError}`);
    }

    const fanout = parts.fanout
      ? await publishToAll(swarms, probeSwarm, pid, mosquitto.port, fleet, devices)
      : undefined;
    const storm = parts.storm ? await reconnectStorm(swarms, pid, devices.length, undefined) : undefined;
    return { connect, fanout, storm };
  } finally {
    await swarms.all(() => ({ cmd: 'close' }), 60_000);
    await mosquitto.child.stop();
  }
}

/** The fan-out on mosquitto: one publisher, one QoS 1 message per device topic. */
async function publishToAll(
  swarms: Swarms,
  probeSwarm: Swarms,
  pid: number,
  port: number,
  fleet: Fleet,
  devices: readonly SwarmDevice[],
): Promise<NonNullable<AnchorFigures['fanout']>> {
  const fota = fleetExpectation(fleet, Date.now());
  const waiting = await expectFota(swarms, fota);
  if (waiting !== devices.length) throw new Error(`only ${waiting} of ${devices.length} subscribers are connected`);
  let pubacks = 0;
  let lastPuback = 0;
  const client = await publisher(port, () => {
    pubacks++;
    lastPuback = Date.now();
  });
  try {
    let publishLoopMs = 0;
    progress(`anchor: publishing ${devices.length} FOTA payloads at QoS 1`);
    // The bytes fota sends: a URL that ends in one random token per device.
    const tokens = devices.map(() => randomToken());
    const probe: ProbeRun = {
      swarms: probeSwarm,
      options: {
        intervalMs: PROBE_INTERVAL_MS,
        mqtt: { host: '127.0.0.1', port, device: fleet.probeDevices.mqtt },
      },
    };
    const measured = await measureDelivery(
      swarms,
      pid,
      120_000,
      async () => {
        const start = Date.now();
        devices.forEach((device, i) => {
          const payload = Buffer.from(`${Date.now()},FOTA,${fota.version},${fota.md5},${fota.urlPrefix}${tokens[i]}`);
          client.publish(`mcs/${device.id}/${device.key}/FOTA`, payload, 1, i + 1);
        });
        publishLoopMs = Date.now() - start;
      },
      probe,
    );
    const { receipts, ...delivery } = measured;
    if (delivery.all.count !== devices.length || delivery.bad.length > 0) {
      throw new Error(
        `${delivery.all.count} of ${devices.length} mosquitto subscribers received a well-formed message; problems:\n  ${delivery.bad.join('\n  ')}`,
      );
    }
    if (delivery.probe && delivery.probe.errors.length > 0) {
      throw new Error(`the probe of mosquitto failed: ${delivery.probe.errors.join('; ')}`);
    }
    distinctTokens(receipts, 'mosquitto');
    if (pubacks !== devices.length) throw new Error(`the publisher got ${pubacks} of ${devices.length} PUBACKs`);
    return { ...delivery, pubackMs: lastPuback - delivery.start, publishLoopMs };
  } finally {
    client.destroy();
  }
}
