import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { newDeviceId, newDeviceKey } from '../../src/domain/ids.js';
import { fileInMemory } from '../lib/files.js';
import type { FirmwareAnswer, FotaServer } from '../lib/fota-server.js';
import { ownCpuSeconds, treeCpuSeconds, treeRssBytes, type Pids } from '../lib/proc.js';
import { progress } from '../lib/report.js';
import { CONNECT_CONCURRENCY, KEEPALIVE_S } from '../push/fleet.js';
import { settledCpu, sleep } from '../push/measure.js';
import { expectFota, measureDelivery, type DeliveryFigures } from '../push/phases.js';
import type {
  ConnectResult,
  FotaExpectation,
  Protocol,
  Receipt,
  SwarmDevice,
  SwarmStats,
  SwarmTarget,
} from '../push/protocol.js';
import { withProtocols } from '../push/server.js';
import type { Swarms } from '../push/swarms.js';
import type { Cluster } from './nodes.js';

/** Heartbeat period of the TCP devices (mcsjs and the LinkIt ONE use 50 s). */
const HEARTBEAT_MS = 50_000;

/** The devices of one configuration, created through the management API, and the firmware pushed. */
export interface ClusterFleet {
  readonly prototypeId: string;
  readonly firmware: FirmwareAnswer;
  /** Half TCP, half MQTT, alternating. */
  readonly devices: readonly SwarmDevice[];
  /** Seconds and count of the devices created through the API. */
  readonly createSeconds: number;
  readonly created: number;
  /** Devices written straight into PostgreSQL after those, and how long that took. */
  readonly inserted: number;
  readonly insertSeconds: number;
}

/** Rows per INSERT when devices are written straight into the database. */
const INSERT_BATCH = 2000;

/**
 * Writes `count` devices of `prototypeId` straight into the `devices` table, in the row shape of
 * SqlDeviceRepository (src/db/repositories/devices.ts), with ids and keys from src/domain/ids.ts:
 * the management API creates devices one request at a time, which is not what this bench measures.
 */
async function insertDevices(
  databaseUrl: string,
  prototypeId: string,
  count: number,
  taken: ReadonlySet<string>,
): Promise<{ id: string; key: string }[]> {
  const ids = new Set<string>();
  while (ids.size < count) {
    const id = newDeviceId();
    if (!taken.has(id)) ids.add(id);
  }
  const devices = [...ids].map((id) => ({ id, key: newDeviceKey() }));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const now = Date.now();
    for (let start = 0; start < devices.length; start += INSERT_BATCH) {
      const batch = devices.slice(start, start + INSERT_BATCH);
      const values: unknown[] = [];
      const rows = batch.map((device, i) => {
        values.push(device.id, prototypeId, device.key, `bench ${start + i}`, '', now);
        const at = i * 6;
        return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, null, null, null, $${at + 6})`;
      });
      await client.query(
        `insert into devices (id, prototype_id, device_key, name, description, reported_firmware_id, reported_version, reported_at, created_at) values ${rows.join(', ')}`,
        values,
      );
    }
  } finally {
    await client.end();
  }
  return devices;
}

/**
 * Runs `call` again while it fails with the 503 of a worker that listens on the shared port but has
 * not read the admin token yet (`fota serve --workers` starts them one after the other; a request
 * may reach one in that moment). Any other failure, or the tenth, is thrown.
 */
async function retryWhileStarting<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 10 || !/answered 503: .*admin tokens are not ready/.test((error as Error).message)) throw error;
      await sleep(250);
    }
  }
}

/**
 * A prototype, one firmware 2.0.0 with prerequisites `all` (so that devices that never reported
 * are offered it, and the push needs no `force`), and `count` devices through
 * `POST /api/v1/prototypes/:pid/devices`, the requests dealt round robin over `servers` (the
 * nodes share one database). Stops early after `boundMs`.
 */
export async function createFleet(
  servers: readonly FotaServer[],
  count: number,
  boundMs: number,
  /** With more devices than `viaApi`, the rest are written straight into this database. */
  direct?: { readonly databaseUrl: string; readonly viaApi: number },
): Promise<ClusterFleet> {
  const first = servers[0]!;
  const { prototypeId } = await first.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'bench cluster' });
  const firmware = await first.upload(
    prototypeId,
    { name: 'pushed', version: '2.0.0', releaseNote: 'pushed to every device', prerequisites: 'all' },
    fileInMemory('pushed.bin', Buffer.alloc(1024, 2)),
  );
  const created: { id: string; key: string }[] = [];
  const start = Date.now();
  const viaApi = direct ? Math.min(count, direct.viaApi) : count;
  let next = 0;
  const worker = async (slot: number) => {
    const server = servers[slot % servers.length]!;
    while (next < viaApi && Date.now() - start < boundMs) {
      const i = next++;
      const answer = await retryWhileStarting(() =>
        server.api<{ deviceId: string; deviceKey: string }>('POST', `/prototypes/${prototypeId}/devices`, {
          name: `bench ${i}`,
        }),
      );
      created.push({ id: answer.deviceId, key: answer.deviceKey });
      if (created.length % 10_000 === 0) progress(`${created.length} devices created`);
    }
  };
  await Promise.all(Array.from({ length: 4 * servers.length + 4 }, (_, slot) => worker(slot)));
  const createSeconds = (Date.now() - start) / 1000;
  const insertStart = Date.now();
  const inserted =
    direct && created.length < count
      ? await insertDevices(direct.databaseUrl, prototypeId, count - created.length, new Set(created.map((d) => d.id)))
      : [];
  return {
    prototypeId,
    firmware,
    devices: withProtocols([...created, ...inserted]),
    createSeconds,
    created: created.length,
    inserted: inserted.length,
    insertSeconds: (Date.now() - insertStart) / 1000,
  };
}

export interface ConnectStage {
  readonly protocol: Protocol;
  readonly asked: number;
  readonly connected: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  readonly seconds: number;
  readonly serverCpuSeconds: number;
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly clientCpuSeconds: number;
}

/**
 * Opens `devices` (of one protocol) from the swarms: swarm s holds `devices[i]` with i % swarms = s,
 * and each device goes to `targets[i % targets.length]` (a node, or a mosquitto). `sourceAddress(s)`
 * is the 127.0.0.x address swarm s connects from (loopback has about 28,000 source ports per
 * address and destination). Measures the CPU and summed RSS of `pids` from quiet to quiet.
 */
export async function connectDevices(
  swarms: Swarms,
  pids: Pids,
  protocol: Protocol,
  devices: readonly SwarmDevice[],
  targets: readonly SwarmTarget[],
  sourceAddress: (swarm: number) => string | undefined,
  boundMs: number,
): Promise<ConnectStage> {
  await settledCpu(pids, { maxMs: 15_000 });
  const rssBefore = treeRssBytes(pids);
  const cpuBefore = treeCpuSeconds(pids);
  const clientBefore = swarms.cpuSeconds() + ownCpuSeconds();
  const start = Date.now();
  const jobs: Promise<ConnectResult[]>[] = targets.map((target, t) =>
    swarms.all<ConnectResult>(
      (s) => ({
        cmd: 'connect',
        target,
        devices: devices.filter(
          (_, i) => i % swarms.count === s && Math.floor(i / swarms.count) % targets.length === t,
        ),
        localAddress: sourceAddress(s),
        concurrency: Math.max(5, Math.round(CONNECT_CONCURRENCY / targets.length)),
        ackTimeoutMs: 60_000,
        stopOnFailure: false,
        mqttClient: 'lean',
        keepaliveS: KEEPALIVE_S,
        append: true,
      }),
      boundMs,
    ),
  );
  let results: ConnectResult[];
  let boundError: string | undefined;
  try {
    results = (await Promise.all(jobs)).flat();
  } catch (error) {
    // A swarm still connecting past the bound: count what is open now, report the rest as failed.
    boundError = (error as Error).message;
    const stats = await swarms.all<SwarmStats>(() => ({ cmd: 'stats' }), 60_000);
    const open = stats.reduce((sum, stat) => sum + stat.open, 0);
    results = [{ connected: open, failed: devices.length - open, firstError: boundError, seconds: NaN }];
  }
  const seconds = (Date.now() - start) / 1000;
  const settled = await settledCpu(pids, { maxMs: 30_000 });
  await sleep(500);
  return {
    protocol,
    asked: devices.length,
    connected: results.reduce((sum, result) => sum + result.connected, 0),
    failed: results.reduce((sum, result) => sum + result.failed, 0),
    firstError: results.find((result) => result.firstError !== undefined)?.firstError,
    seconds,
    serverCpuSeconds: settled.cpu - cpuBefore,
    rssBefore,
    rssAfter: treeRssBytes(pids),
    clientCpuSeconds: swarms.cpuSeconds() + ownCpuSeconds() - clientBefore,
  };
}

/** Dealing `devices` as connectDevices does: which target device i of its protocol list goes to. */
export function targetOf(index: number, swarms: number, targets: number): number {
  return Math.floor(index / swarms) % targets;
}

export interface PushStage extends DeliveryFigures {
  readonly expected: number;
  readonly answerMs: number;
  readonly answer: { readonly pushId: string; readonly total: number; readonly counts: Record<string, number> };
  /** `GET /pushes/:id` once every device had its message, or when the bound ran out. */
  readonly final: Record<string, number> | undefined;
  readonly distinctTokens: number;
  readonly timedOut: boolean;
  readonly receiptsBad: readonly string[];
}

/** What every device must receive for a push of `firmware` from `first`. */
export function expectation(first: FotaServer, firmware: FirmwareAnswer, notBefore: number): FotaExpectation {
  return { version: firmware.version, md5: firmware.md5, urlPrefix: `${first.url}/fw/p/`, notBefore };
}

export const distinct = (receipts: readonly Receipt[]): number => new Set(receipts.map((r) => r.token)).size;

/**
 * ONE `POST /api/v1/firmwares/:fwId/push` with `selection: "all"` (every device of the prototype)
 * on the first node; every swarm device checks its FOTA message byte for byte. Waits at most
 * `boundMs` for the last device, then reports how many had theirs.
 */
export async function pushToAll(
  cluster: Cluster,
  swarms: Swarms,
  fleet: ClusterFleet,
  online: number,
  boundMs: number,
): Promise<PushStage> {
  const { first } = cluster;
  const expected = await expectFota(swarms, expectation(first, fleet.firmware, Date.now()));
  let answer: PushStage['answer'] | undefined;
  let answerMs = NaN;
  progress(`${cluster.label}: one push (selection "all") to ${expected} devices`);
  const delivery = await measureDelivery(swarms, cluster.pids, boundMs, async () => {
    const start = performance.now();
    const response = await fetch(`${first.url}/api/v1/firmwares/${fleet.firmware.fwId}/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ selection: 'all' }),
      signal: AbortSignal.timeout(boundMs),
    });
    const text = await response.text();
    answerMs = performance.now() - start;
    if (response.status !== 201) throw first.failure(`the push answered ${response.status}: ${text.slice(0, 500)}`);
    answer = JSON.parse(text) as PushStage['answer'];
  });
  if (!answer) throw new Error('the push did not answer');
  const timedOut = delivery.all.count < expected;
  // TCP targets stay `sent`; MQTT ones become `delivered` once the device's PUBACK was recorded.
  let final: Record<string, number> | undefined;
  const tcp = Math.ceil(online / 2);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    final = (await first.api<{ counts: Record<string, number> }>('GET', `/pushes/${answer.pushId}`)).counts;
    if (timedOut || (final['sent'] === tcp && final['delivered'] === online - tcp)) break;
    await sleep(1000);
  }
  const { receipts, bad, ...figures } = delivery;
  return {
    ...figures,
    bad,
    expected,
    answerMs,
    answer,
    final,
    distinctTokens: distinct(receipts),
    timedOut,
    receiptsBad: bad,
  };
}

/** Every swarm closes its devices (they are dropped, as devices that lose their network). */
export async function closeAll(swarms: Swarms): Promise<void> {
  await swarms.all(() => ({ cmd: 'close' }), 120_000);
}

export async function heartbeats(swarms: Swarms): Promise<void> {
  await swarms.all(() => ({ cmd: 'heartbeats', periodMs: HEARTBEAT_MS }), 10_000);
}
