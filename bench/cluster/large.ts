import { execFileSync } from 'node:child_process';
import { childPids } from '../lib/proc.js';
import { progress } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import { openFdCount } from '../lib/sockets.js';
import type { SwarmStats } from '../push/protocol.js';
import type { Swarms } from '../push/swarms.js';
import type { Engines } from './engines.js';
import {
  closeAll,
  connectDevices,
  createFleet,
  heartbeats,
  pushToAll,
  type ClusterFleet,
  type ConnectStage,
  type PushStage,
} from './fleet.js';
import { startWorkers, waitPresence, type Cluster } from './nodes.js';
import type { ClusterBenchOptions } from './options.js';
import { mosquittoPeer, type PeerStage } from './peer.js';

/** Thrown when a stage of fota's side stopped (`figures.stopped` says where): the peer still runs. */
class Stopped extends Error {}

/** Device creation through the API stops after this long; the rest are written into the database. */
const CREATE_BOUND_MS = 300_000;

/** Swarm s connects to fota from 127.0.0.(10 + s) and to mosquitto from 127.0.0.(100 + s). */
export const fotaSource = (swarm: number): string => `127.0.0.${10 + swarm}`;
export const peerSource = (swarm: number): string => `127.0.0.${100 + swarm}`;

export interface LargeFigures {
  readonly workers: number;
  readonly asked: number;
  readonly created: number;
  readonly createSeconds: number;
  readonly inserted: number;
  readonly insertSeconds: number;
  readonly connect: readonly ConnectStage[];
  /** Open files of each worker once every device was connected (devices per worker, plus a few dozen). */
  readonly workerFds: readonly number[];
  readonly presence: { readonly present: number; readonly seconds: number };
  readonly push: PushStage | undefined;
  /** PostgreSQL and Redis CPU from the push until fota was quiet again. */
  readonly pushEngineCpuSeconds: number | undefined;
  readonly peer: PeerStage | undefined;
  /** Where it stopped, when it did not reach the end: the stage and what it said. */
  readonly stopped: string | undefined;
}

/**
 * Part 2: `options.large` devices created through the management API of one `fota serve --workers N`,
 * connected from `options.swarms` swarm processes (TCP first, then MQTT, measured apart), ONE push
 * with `selection: "all"`, then the mosquitto peer with the same devices. A stage that fails or
 * passes its bound ends the part with what was measured until then and where it stopped.
 */
export async function largeRun(
  resources: Resources,
  engines: Engines,
  swarms: Swarms,
  root: string,
  options: ClusterBenchOptions,
  mosquittoBinary: string | undefined,
): Promise<LargeFigures> {
  const connect: ConnectStage[] = [];
  const figures: {
    -readonly [K in keyof LargeFigures]: LargeFigures[K];
  } = {
    workers: options.workers,
    asked: options.large,
    created: 0,
    createSeconds: NaN,
    inserted: 0,
    insertSeconds: NaN,
    connect,
    workerFds: [],
    presence: { present: 0, seconds: NaN },
    push: undefined,
    pushEngineCpuSeconds: undefined,
    peer: undefined,
    stopped: undefined,
  };
  let cluster: Cluster;
  try {
    cluster = await startWorkers(resources, engines, root, options.workers);
  } catch (error) {
    figures.stopped = `starting fota serve --workers ${options.workers}: ${(error as Error).message}`;
    return figures;
  }
  let fleet: ClusterFleet | undefined;
  try {
    progress(
      `part 2: creating ${Math.min(options.viaApi, options.large)} devices through the management API, the rest (of ${options.large}) in PostgreSQL`,
    );
    fleet = await createFleet([cluster.first], options.large, CREATE_BOUND_MS, {
      databaseUrl: cluster.databaseUrl,
      viaApi: options.viaApi,
    });
    figures.created = fleet.created;
    figures.createSeconds = fleet.createSeconds;
    figures.inserted = fleet.inserted;
    figures.insertSeconds = fleet.insertSeconds;
    await heartbeats(swarms);
    const connected: string[] = [];
    for (const protocol of ['tcp', 'mqtt'] as const) {
      const devices = fleet.devices.filter((device) => device.protocol === protocol);
      progress(`part 2: connecting ${devices.length} ${protocol.toUpperCase()} devices from ${swarms.count} swarms`);
      const stage = await connectDevices(
        swarms,
        cluster.pids,
        protocol,
        devices,
        cluster.endpoints,
        fotaSource,
        20 * 60_000,
      );
      connect.push(stage);
      if (stage.failed > 0) {
        figures.stopped = `connecting ${protocol.toUpperCase()} devices: ${stage.connected} of ${stage.asked} connected, ${stage.failed} failed; the first: ${stage.firstError}`;
        break;
      }
      connected.push(...devices.map((device) => device.id));
    }
    figures.workerFds = childPids(cluster.pids[0]!).map(openFdCount);
    // A stage that stopped ends fota's side; the peer below still runs with the same devices.
    if (figures.stopped?.startsWith('connecting')) throw new Stopped();

    figures.presence = await waitPresence(engines, connected, 120_000);
    if (figures.presence.present !== connected.length) {
      figures.stopped = `presence: ${figures.presence.present} of ${connected.length} devices in Redis after ${figures.presence.seconds.toFixed(0)} s; ${await whereTheyWent(swarms, cluster)}`;
      throw new Stopped();
    }
    const engineBefore = engines.cpuSeconds();
    figures.push = await pushToAll(cluster, swarms, fleet, connected.length, options.pushBoundS * 1000);
    figures.pushEngineCpuSeconds = engines.cpuSeconds() - engineBefore;
    if (figures.push.timedOut) {
      figures.stopped = `the push: ${figures.push.all.count} of ${figures.push.expected} devices had their message after the ${options.pushBoundS} s bound`;
    }
  } catch (error) {
    if (!(error instanceof Stopped)) {
      figures.stopped = `${figures.stopped ? `${figures.stopped}; then ` : ''}${(error as Error).message}`;
      return figures;
    }
  } finally {
    await closeAll(swarms).catch(() => undefined);
    await cluster.stop();
  }

  if (mosquittoBinary && !options.skipPeer && fleet) {
    try {
      figures.peer = await mosquittoPeer(
        resources,
        mosquittoBinary,
        swarms,
        fleet.devices,
        peerSource,
        { first: cluster.first, firmware: fleet.firmware },
        options.pushBoundS * 1000,
      );
    } catch (error) {
      figures.stopped = `${figures.stopped ? `${figures.stopped}; then ` : ''}the mosquitto peer: ${(error as Error).message}`;
    }
  }
  return figures;
}

/** Why devices are missing: what the swarms saw close, and the sockets fota's ports still hold. */
async function whereTheyWent(swarms: Swarms, cluster: Cluster): Promise<string> {
  const stats = await swarms.all<SwarmStats>(() => ({ cmd: 'stats' }), 30_000);
  const open = stats.reduce((sum, stat) => sum + stat.open, 0);
  const dropped = stats.reduce((sum, stat) => sum + stat.dropped, 0);
  const first = stats.find((stat) => stat.firstDrop !== undefined)?.firstDrop;
  const lateTick = Math.max(...stats.map((stat) => stat.longestTickGapMs));
  const { tcpPort, mqttPort } = cluster.endpoints[0]!;
  return `the swarms hold ${open} connections, ${dropped} dropped${first ? ` (first: ${first})` : ''}, the longest swarm tick gap ${lateTick} ms; established on fota's TCP port ${establishedOn(tcpPort)}, on its MQTT port ${establishedOn(mqttPort)}`;
}

function establishedOn(port: number): string {
  try {
    const out = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
    return String(out.split('\n').filter((line) => line.trim() !== '').length);
  } catch {
    return 'unknown (ss failed)';
  }
}
