import { treeCpuSeconds } from '../lib/proc.js';
import { progress } from '../lib/report.js';
import { counterGrowth, openFdCount, tcpExtCounters } from '../lib/sockets.js';
import type { Fleet } from './fleet.js';
import { settledCpu } from './measure.js';
import { clientCpu, LISTEN_COUNTERS } from './phases.js';
import type { StormResult, SwarmStats } from './protocol.js';
import { waitAllOnline } from './server.js';
import type { Swarms } from './swarms.js';

/** Every attempt of the storm, retries included, must succeed within this time. */
const STORM_DEADLINE_MS = 120_000;

export interface StormFigures {
  readonly devices: number;
  readonly reconnected: number;
  /** Failed attempts (each retried at once) plus devices that never came back. */
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Connections that closed by themselves between the parts (should be 0). */
  readonly droppedBefore: number;
  /** Milliseconds from the drop to the last acknowledgement a client received. */
  readonly lastAckMs: number;
  /** Milliseconds from the drop to the management API answer that showed every device online again. */
  readonly allOnlineMs: number | undefined;
  readonly apiPolls: number;
  readonly serverCpuSeconds: number;
  readonly clientCpuSeconds: number;
  readonly fdsBefore: number;
  readonly fdsAfter: number;
  /** Growth of the kernel's listen-queue and SYN-retransmit counters until every client was back. */
  readonly kernel: Record<string, number>;
}

async function dropCount(swarms: Swarms): Promise<number> {
  const stats = await swarms.all<SwarmStats>(() => ({ cmd: 'stats' }), 30_000);
  return stats.reduce((sum, stat) => sum + stat.dropped, 0);
}

/**
 * Every connected device of every swarm drops its connection at once and reconnects at once, with no
 * back-off, retrying at once on failure. With `fleet`, the management API must then list every
 * device online and seen since the drop (polled every 250 ms once the clients are all back).
 */
export async function reconnectStorm(
  swarms: Swarms,
  serverPid: number,
  devices: number,
  fleet: Fleet | undefined,
): Promise<StormFigures> {
  await settledCpu(serverPid, { maxMs: 15_000 });
  const droppedBefore = await dropCount(swarms);
  const fdsBefore = openFdCount(serverPid);
  const cpuBefore = treeCpuSeconds(serverPid);
  const clientBefore = clientCpu(swarms);
  const kernelBefore = tcpExtCounters();
  progress(`storm: ${devices} devices drop and reconnect at once`);
  const start = Date.now();
  const results = await swarms.all<StormResult>(
    () => ({ cmd: 'storm', ackTimeoutMs: STORM_DEADLINE_MS }),
    STORM_DEADLINE_MS + 30_000,
  );
  const kernel = counterGrowth(kernelBefore, tcpExtCounters(), LISTEN_COUNTERS);
  const reconnected = results.reduce((sum, result) => sum + result.reconnected, 0);
  const missing = results.reduce((sum, result) => sum + result.missing, 0);
  const lastAckMs = Math.max(...results.map((result) => result.lastAckAt)) - start;
  let allOnlineMs: number | undefined;
  let apiPolls = 0;
  if (fleet && missing === 0) {
    const online = await waitAllOnline(
      fleet.server,
      fleet.prototypeId,
      fleet.devices.map((device) => device.id),
      { seenSince: start, timeoutMs: 60_000, intervalMs: 250 },
    );
    allOnlineMs = online.at - start;
    apiPolls = online.polls;
  }
  const settled = await settledCpu(serverPid, { maxMs: 30_000 });
  return {
    devices,
    reconnected,
    errors: results.reduce((sum, result) => sum + result.errors, 0) + missing,
    firstError: results.find((result) => result.firstError !== undefined)?.firstError,
    droppedBefore,
    lastAckMs,
    allOnlineMs,
    apiPolls,
    serverCpuSeconds: settled.cpu - cpuBefore,
    clientCpuSeconds: clientCpu(swarms) - clientBefore,
    fdsBefore,
    fdsAfter: openFdCount(serverPid),
    kernel,
  };
}
