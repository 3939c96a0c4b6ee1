import { ownCpuSeconds, readMemory, treeCpuSeconds, type Pids } from '../lib/proc.js';
import { counterGrowth, openFdCount, tcpExtCounters } from '../lib/sockets.js';
import { settledCpu, sleep, spread, type Spread } from './measure.js';
import type {
  CollectResult,
  ConnectOptions,
  ConnectResult,
  FotaExpectation,
  ProbeKind,
  ProbeOptions,
  ProbeResult,
  Protocol,
  Receipt,
} from './protocol.js';
import type { Swarms } from './swarms.js';

/** What it took one server (fota or mosquitto) to take on a set of connections. */
export interface ConnectFigures {
  readonly connections: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  readonly seconds: number;
  readonly serverCpuSeconds: number;
  readonly clientCpuSeconds: number;
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly fdsBefore: number;
  readonly fdsAfter: number;
  /** Seconds `confirm` took after the measured window (the management API check). */
  readonly confirmSeconds: number;
  /** Growth of the kernel's listen-queue and SYN-retransmit counters over the window. */
  readonly kernel: Record<string, number>;
}

/** Kernel counters that tell whether connections waited on a full listen queue. */
export const LISTEN_COUNTERS = ['ListenOverflows', 'ListenDrops', 'TCPSynRetrans', 'TCPReqQFullDrop'] as const;

export const clientCpu = (swarms: Swarms): number => swarms.cpuSeconds() + ownCpuSeconds();

/**
 * Every swarm opens its share (`command(index)`); RSS and open files of the server are read once it
 * is quiet before and after. `confirm` (the management API check) runs after that window, so its
 * cost is not counted as connection cost; its time is reported apart.
 */
export async function connectPhase(
  swarms: Swarms,
  serverPid: number,
  command: (index: number) => ConnectOptions,
  confirm: () => Promise<unknown> = async () => undefined,
): Promise<ConnectFigures> {
  await settledCpu(serverPid, { maxMs: 15_000 });
  const rssBefore = readMemory(serverPid)?.rssBytes ?? 0;
  const fdsBefore = openFdCount(serverPid);
  const cpuBefore = treeCpuSeconds(serverPid);
  const clientBefore = clientCpu(swarms);
  const kernelBefore = tcpExtCounters();
  const start = Date.now();
  const results = await swarms.all<ConnectResult>((index) => ({ cmd: 'connect', ...command(index) }), 15 * 60_000);
  const seconds = (Date.now() - start) / 1000;
  const kernel = counterGrowth(kernelBefore, tcpExtCounters(), LISTEN_COUNTERS);
  const settled = await settledCpu(serverPid, { maxMs: 30_000 });
  const clientAfter = clientCpu(swarms);
  await sleep(500);
  const rssAfter = readMemory(serverPid)?.rssBytes ?? 0;
  const fdsAfter = openFdCount(serverPid);
  const confirmStart = Date.now();
  await confirm();
  const confirmSeconds = (Date.now() - confirmStart) / 1000;
  return {
    connections: results.reduce((sum, result) => sum + result.connected, 0),
    failed: results.reduce((sum, result) => sum + result.failed, 0),
    firstError: results.find((result) => result.firstError !== undefined)?.firstError,
    seconds,
    serverCpuSeconds: settled.cpu - cpuBefore,
    clientCpuSeconds: clientAfter - clientBefore,
    rssBefore,
    rssAfter,
    fdsBefore,
    fdsAfter,
    confirmSeconds,
    kernel,
  };
}

/** How long each FOTA message took to arrive, measured from `start`. */
export interface DeliveryFigures {
  readonly all: Spread;
  readonly byProtocol: Record<Protocol, Spread>;
  /** Date.now() of the last receipt. */
  readonly lastAt: number;
  readonly bad: readonly string[];
  /** Server CPU from `start` to the last receipt, and to when it was quiet again. */
  readonly serverCpuToLastSeconds: number;
  readonly serverCpuSettledSeconds: number;
  readonly clientCpuSeconds: number;
  readonly settledAfterMs: number;
  readonly probe: ProbeFigures | undefined;
  /** The probe's cost before the push (ms per s) times the time it ran during the push: part of the server CPU above. */
  readonly probeCpuSeconds: number;
}

/** Answer times of the probe (probe.ts) before the push, and from the push until 2 s after the last receipt. */
export interface ProbeFigures {
  readonly intervalMs: number;
  readonly idleWindowMs: number;
  /** Server CPU while only the probe ran (ms per s): what the probe itself costs the server. */
  readonly idleServerCpuMsPerS: number;
  readonly kinds: Partial<
    Record<ProbeKind, { readonly idle: Spread; readonly push: Spread; readonly unansweredMs?: number }>
  >;
  readonly errors: readonly string[];
}

/** How long the probe runs alone before the push, for the baseline. */
const PROBE_IDLE_MS = 3000;
/** How long the probe goes on after every device had its message (acknowledgements are still recorded then). */
const PROBE_AFTER_MS = 2000;

/** The probe process: a swarm of its own, which measures answer times while the others receive. */
export interface ProbeRun {
  readonly swarms: Swarms;
  readonly options: ProbeOptions;
}

function probeFigures(
  result: ProbeResult,
  intervalMs: number,
  idle: { from: number; to: number; cpuMsPerS: number },
  push: { from: number; to: number },
): ProbeFigures {
  const kinds: Record<string, { idle: Spread; push: Spread; unansweredMs?: number }> = {};
  for (const [kind, samples] of Object.entries(result.samples)) {
    const within = (from: number, to: number) =>
      spread(samples.filter((sample) => sample.at >= from && sample.at < to).map((sample) => sample.ms));
    const unanswered = result.unanswered[kind as ProbeKind];
    kinds[kind] = {
      idle: within(idle.from, idle.to),
      push: within(push.from, push.to),
      ...(unanswered === undefined ? {} : { unansweredMs: unanswered }),
    };
  }
  return {
    intervalMs,
    idleWindowMs: idle.to - idle.from,
    idleServerCpuMsPerS: idle.cpuMsPerS,
    kinds,
    errors: result.errors,
  };
}

/** Sets what every connected device must receive; answers how many devices wait for it. */
export async function expectFota(swarms: Swarms, fota: FotaExpectation): Promise<number> {
  const counts = await swarms.all<number>(() => ({ cmd: 'expect', fota }), 30_000);
  return counts.reduce((sum, count) => sum + count, 0);
}

/**
 * Runs `send` (the push request, or the publisher) at `start` and waits until every swarm reported
 * that all its devices received their message, then until the server is quiet; collects receipts.
 */
export async function measureDelivery(
  swarms: Swarms,
  serverPid: Pids,
  timeoutMs: number,
  send: () => Promise<void>,
  probe?: ProbeRun,
  /** Runs once every device had its message (and the probe stopped), before waiting for the quiet. */
  afterArrival?: () => Promise<void>,
): Promise<DeliveryFigures & { start: number; receipts: readonly Receipt[] }> {
  if (probe) await probe.swarms.all(() => ({ cmd: 'probe-start', probe: probe.options }), 60_000);
  await settledCpu(serverPid, { maxMs: 15_000 });
  const idleFrom = Date.now();
  const idleCpu = treeCpuSeconds(serverPid);
  if (probe) await sleep(PROBE_IDLE_MS);
  const idle = {
    from: idleFrom,
    to: Date.now(),
    cpuMsPerS: ((treeCpuSeconds(serverPid) - idleCpu) * 1e6) / Math.max(1, Date.now() - idleFrom),
  };
  let waiting = swarms.count;
  let allReceived: () => void = () => undefined;
  const received = new Promise<void>((resolve) => (allReceived = resolve));
  const stop = swarms.on((_index, event) => {
    if (event.event === 'all-received' && --waiting === 0) allReceived();
  });
  const cpuBefore = treeCpuSeconds(serverPid);
  const clientBefore = clientCpu(swarms);
  const start = Date.now();
  let cpuAtLast = NaN;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const sent = send();
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const arrived = received.then(() => {
      cpuAtLast = treeCpuSeconds(serverPid);
    });
    await sent;
    await Promise.race([arrived, timeout]);
  } finally {
    clearTimeout(timer);
    stop();
  }
  // The probe stops shortly after the last receipt, so that its own cost does not hold off the quiet.
  let probed: ProbeResult | undefined;
  let probeStoppedAt = start;
  if (probe) {
    await sleep(PROBE_AFTER_MS);
    probed = (await probe.swarms.all<ProbeResult>(() => ({ cmd: 'probe-stop' }), 30_000))[0];
    probeStoppedAt = Date.now();
  }
  await afterArrival?.();
  const settled = await settledCpu(serverPid, { maxMs: 60_000 });
  const clientAfter = clientCpu(swarms);
  const collected = await swarms.all<CollectResult>(() => ({ cmd: 'collect' }), 60_000);
  const receipts: Receipt[] = collected.flatMap((result) => [...result.receipts]);
  const bad = collected.flatMap((result) => [...result.bad]);
  const delay = (list: readonly Receipt[]) => spread(list.map((receipt) => receipt.at - start));
  const lastAt = Math.max(...receipts.map((receipt) => receipt.at));
  return {
    start,
    receipts,
    probe: probed && probeFigures(probed, probe!.options.intervalMs, idle, { from: start, to: probeStoppedAt }),
    probeCpuSeconds: (idle.cpuMsPerS * (probeStoppedAt - start)) / 1e6,
    all: delay(receipts),
    byProtocol: {
      tcp: delay(receipts.filter((receipt) => receipt.protocol === 'tcp')),
      mqtt: delay(receipts.filter((receipt) => receipt.protocol === 'mqtt')),
    },
    lastAt,
    bad,
    serverCpuToLastSeconds: (Number.isNaN(cpuAtLast) ? settled.cpu : cpuAtLast) - cpuBefore,
    serverCpuSettledSeconds: settled.cpu - cpuBefore,
    clientCpuSeconds: clientAfter - clientBefore,
    settledAfterMs: settled.at - start,
  };
}
