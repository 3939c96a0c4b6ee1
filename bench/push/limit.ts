import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { treeCpuSeconds } from '../lib/proc.js';
import { progress } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import { fdLimit } from '../lib/sockets.js';
import { FLEET_HEARTBEAT_MS, KEEPALIVE_S } from './fleet.js';
import { sleep } from './measure.js';
import type { PushBenchOptions } from './options.js';
import { clientCpu, connectPhase, type ConnectFigures } from './phases.js';
import type { SwarmDevice, SwarmStats } from './protocol.js';
import { createDevices, shares, startPushServer, type PushServer } from './server.js';
import type { Swarms } from './swarms.js';

/** Connections each swarm opens at once during the ramp. */
const RAMP_CONCURRENCY = 32;

export interface LimitFigures {
  readonly target: number;
  readonly createSeconds: number;
  readonly sourceAddresses: readonly string[];
  readonly ramp: ConnectFigures;
  /** The server's soft limit on open files (`Max open files` in /proc/PID/limits). */
  readonly serverFdLimit: number | undefined;
  /** One management API call while every connection is held: how it went. */
  readonly apiCheck: string;
  /** The server's last output lines when the ramp saw failures. */
  readonly serverTail: string | undefined;
  readonly heartbeats: {
    readonly periodS: number;
    readonly windowS: number;
    readonly sent: number;
    readonly echoes: number;
    readonly serverCpuSeconds: number;
    readonly clientCpuSeconds: number;
    /** Connections that closed by themselves during the ramp and the window (should be 0). */
    readonly dropped: number;
    readonly firstDrop: string | undefined;
  };
}

const sum = (stats: readonly SwarmStats[], field: 'heartbeatsSent' | 'echoesReceived' | 'dropped'): number =>
  stats.reduce((total, stat) => total + stat[field], 0);

/**
 * Part 2: as many TCP devices as one fota server process holds. A fresh server, `maxConnections`
 * devices created through the API, then a ramp from every swarm, each from its own source address
 * 127.0.0.(2+i), until a connection fails or the target is reached. Then every device heartbeats
 * every `heartbeatPeriodS` seconds, spread evenly, and the server's CPU is read over a window.
 */
export async function connectionLimit(
  resources: Resources,
  swarms: Swarms,
  options: PushBenchOptions,
  root: string,
): Promise<LimitFigures> {
  progress('part 2: starting a fresh fota server');
  const server = await startPushServer(resources, join(root, 'data-limit'));
  try {
    const { prototypeId } = await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'bench limit' });
    progress(`part 2: creating ${options.maxConnections} devices through the management API`);
    const created = await createDevices(server, prototypeId, options.maxConnections, 'part 2');
    const devices: SwarmDevice[] = created.devices.map((device) => ({ ...device, protocol: 'tcp' }));
    const dealt = shares(devices, swarms.count);
    const sourceAddresses = dealt.map((_, i) => `127.0.0.${2 + i}`);

    await swarms.all(() => ({ cmd: 'heartbeats', periodMs: FLEET_HEARTBEAT_MS }), 10_000);
    const initial = await swarms.all<SwarmStats>(() => ({ cmd: 'stats' }), 30_000);
    progress(`part 2: ramping up to ${options.maxConnections} TCP connections from ${sourceAddresses.join(', ')}`);
    const ramp = await connectPhase(swarms, server.child.pid, (index) => ({
      target: { host: '127.0.0.1', tcpPort: server.tcpPort, mqttPort: server.mqttPort },
      devices: dealt[index]!,
      localAddress: sourceAddresses[index]!,
      concurrency: RAMP_CONCURRENCY,
      ackTimeoutMs: 30_000,
      stopOnFailure: true,
      mqttClient: options.mqttClient,
      keepaliveS: KEEPALIVE_S,
    }));
    const apiCheck = await checkApi(server, prototypeId);
    progress(`part 2: ${ramp.connections} connections; heartbeats every ${options.heartbeatPeriodS} s`);

    await swarms.all(() => ({ cmd: 'heartbeats', periodMs: options.heartbeatPeriodS * 1000 }), 10_000);
    // One whole period first, so that every device is on the new schedule.
    await sleep(options.heartbeatPeriodS * 1000);
    const before = await swarms.all<SwarmStats>(() => ({ cmd: 'stats' }), 30_000);
    const cpuBefore = treeCpuSeconds(server.child.pid);
    const clientBefore = clientCpu(swarms);
    const start = Date.now();
    await sleep(options.heartbeatWindowS * 1000);
    const cpuAfter = treeCpuSeconds(server.child.pid);
    const clientAfter = clientCpu(swarms);
    const windowS = (Date.now() - start) / 1000;
    const after = await swarms.all<SwarmStats>(() => ({ cmd: 'stats' }), 30_000);
    return {
      target: options.maxConnections,
      createSeconds: created.seconds,
      sourceAddresses,
      ramp,
      serverFdLimit: fdLimit(server.child.pid),
      apiCheck,
      serverTail: ramp.failed > 0 ? server.child.tail().split('\n').slice(-5).join('\n') : undefined,
      heartbeats: {
        periodS: options.heartbeatPeriodS,
        windowS,
        sent: sum(after, 'heartbeatsSent') - sum(before, 'heartbeatsSent'),
        echoes: sum(after, 'echoesReceived') - sum(before, 'echoesReceived'),
        serverCpuSeconds: cpuAfter - cpuBefore,
        clientCpuSeconds: clientAfter - clientBefore,
        dropped: sum(after, 'dropped') - sum(initial, 'dropped'),
        firstDrop: after.find((stat) => stat.firstDrop !== undefined)?.firstDrop,
      },
    };
  } finally {
    await swarms.all(() => ({ cmd: 'close' }), 60_000).catch(() => undefined);
    await server.child.stop();
  }
}

/** `GET /api/v1/prototypes/:pid` once, while the server holds every connection it took. */
async function checkApi(server: PushServer, prototypeId: string): Promise<string> {
  const start = performance.now();
  try {
    await server.api('GET', `/prototypes/${prototypeId}`);
    return `answered 200 in ${(performance.now() - start).toFixed(0)} ms`;
  } catch (error) {
    return `failed after ${(performance.now() - start).toFixed(0)} ms: ${(error as Error).message.split('\n')[0]}`;
  }
}
