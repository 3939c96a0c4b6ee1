import { REQUEST_TIMEOUT_MS } from '../lib/fota-server.js';
import { loadWithAutocannon, type LoadResult } from '../lib/load.js';
import { progress } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import type { Swarms } from '../push/swarms.js';
import type { Engines } from './engines.js';
import {
  closeAll,
  connectDevices,
  createFleet,
  heartbeats,
  pushToAll,
  type ConnectStage,
  type PushStage,
} from './fleet.js';
import { startNodes, waitPresence, type Cluster } from './nodes.js';
import type { ClusterBenchOptions } from './options.js';

/** autocannon connections in all, dealt evenly over the nodes. */
export const LOAD_CONNECTIONS = 12;
const WARMUP_SECONDS = 2;

export interface ListingLoad {
  readonly perNode: readonly LoadResult[];
  readonly requests: number;
  readonly requestsPerSecond: number;
  /** The worst node's p99. */
  readonly p99Ms: number;
  readonly serverCpuSeconds: number;
  readonly engineCpuSeconds: number;
  readonly clientCpuSeconds: number;
}

export interface ScaleFigures {
  readonly label: string;
  readonly nodes: number;
  readonly createSeconds: number;
  readonly created: number;
  readonly inserted: number;
  readonly connect: readonly ConnectStage[];
  readonly presenceSeconds: number;
  readonly push: PushStage;
  readonly pushEngineCpuSeconds: number;
  readonly listing: ListingLoad;
}

/**
 * `GET /mcs/v2/devices/:id/firmwares/available` on every node at once: one device per node (created
 * through that node), LOAD_CONNECTIONS autocannon connections dealt over the nodes, every body
 * checked against what that node answered first.
 */
async function listingLoad(
  cluster: Cluster,
  engines: Engines,
  prototypeId: string,
  seconds: number,
): Promise<ListingLoad> {
  const targets = await Promise.all(
    cluster.endpoints.map(async ({ server }, i) => {
      const device = await server.api<{ deviceId: string; deviceKey: string }>(
        'POST',
        `/prototypes/${prototypeId}/devices`,
        { name: `listing ${i}` },
      );
      const url = `${server.url}/mcs/v2/devices/${device.deviceId}/firmwares/available`;
      const headers = { deviceKey: device.deviceKey };
      const first = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const body = await first.text();
      if (first.status !== 200) throw server.failure(`the listing answered ${first.status}: ${body}`);
      return { name: `node ${i + 1}`, url, pid: server.child.pid, headers, body };
    }),
  );
  const connections = Math.max(1, Math.round(LOAD_CONNECTIONS / targets.length));
  progress(`${cluster.label}: device API load, ${connections} connections per node, ${WARMUP_SECONDS} + ${seconds} s`);
  const engineBefore = engines.cpuSeconds();
  const perNode = await Promise.all(
    targets.map((target) => loadWithAutocannon(target, { connections, seconds, warmupSeconds: WARMUP_SECONDS })),
  );
  const engineCpuSeconds = engines.cpuSeconds() - engineBefore;
  const sum = (pick: (result: LoadResult) => number) => perNode.reduce((total, result) => total + pick(result), 0);
  return {
    perNode,
    requests: sum((result) => result.requests),
    requestsPerSecond: sum((result) => result.requestsPerSecond),
    p99Ms: Math.max(...perNode.map((result) => result.p99Ms)),
    serverCpuSeconds: sum((result) => result.serverCpuSeconds),
    // Every node's run overlaps the others in the one bench process: its CPU is counted once.
    clientCpuSeconds: Math.max(...perNode.map((result) => result.clientCpuSeconds)),
    engineCpuSeconds,
  };
}

/**
 * One configuration of part 1: `count` nodes, `options.devices` devices created through them,
 * connected to them in turn (device i to node i mod count), one push to all, then the device API.
 */
export async function scaleRun(
  resources: Resources,
  engines: Engines,
  swarms: Swarms,
  root: string,
  count: number,
  options: ClusterBenchOptions,
): Promise<ScaleFigures> {
  const cluster = await startNodes(resources, engines, root, count);
  try {
    progress(`${cluster.label}: creating ${options.devices} devices through the management API`);
    const fleet = await createFleet(
      cluster.endpoints.map((endpoint) => endpoint.server),
      options.devices,
      5 * 60_000,
      { databaseUrl: cluster.databaseUrl, viaApi: options.viaApi },
    );
    await heartbeats(swarms);
    const connect: ConnectStage[] = [];
    for (const protocol of ['tcp', 'mqtt'] as const) {
      const devices = fleet.devices.filter((device) => device.protocol === protocol);
      progress(`${cluster.label}: connecting ${devices.length} ${protocol.toUpperCase()} devices`);
      const stage = await connectDevices(
        swarms,
        cluster.pids,
        protocol,
        devices,
        cluster.endpoints,
        () => undefined,
        15 * 60_000,
      );
      if (stage.failed > 0) {
        throw cluster.first.failure(
          `${stage.failed} ${protocol} devices could not connect; the first: ${stage.firstError}`,
        );
      }
      connect.push(stage);
    }
    const presence = await waitPresence(
      engines,
      fleet.devices.map((device) => device.id),
      60_000,
    );
    if (presence.present !== fleet.devices.length) {
      throw new Error(`only ${presence.present} of ${fleet.devices.length} devices have a presence entry in Redis`);
    }
    const engineBefore = engines.cpuSeconds();
    const push = await pushToAll(cluster, swarms, fleet, fleet.devices.length, options.pushBoundS * 1000);
    const pushEngineCpuSeconds = engines.cpuSeconds() - engineBefore;
    if (push.timedOut || push.bad.length > 0 || push.distinctTokens !== push.all.count) {
      throw cluster.first.failure(
        `${push.all.count} of ${push.expected} devices received a well-formed FOTA message within ${options.pushBoundS} s (${push.distinctTokens} distinct tokens); problems:\n  ${push.bad.join('\n  ')}`,
      );
    }
    await closeAll(swarms);
    const listing = await listingLoad(cluster, engines, fleet.prototypeId, options.loadSeconds);
    return {
      label: cluster.label,
      nodes: count,
      createSeconds: fleet.createSeconds,
      created: fleet.created,
      inserted: fleet.inserted,
      connect,
      presenceSeconds: presence.seconds,
      push,
      pushEngineCpuSeconds,
      listing,
    };
  } finally {
    await closeAll(swarms).catch(() => undefined);
    await cluster.stop();
  }
}
