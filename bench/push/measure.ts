import { treeCpuSeconds, type Pids } from '../lib/proc.js';

/** Nearest-rank percentiles of a list of values (milliseconds here). */
export interface Spread {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
  return { count: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted.at(-1) ?? NaN };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until a process stops using CPU: its CPU time grew by less than `idleShare` of the wall time
 * over two windows of `windowMs` in a row (background heartbeats stay below that). Answers its CPU
 * seconds and Date.now() at the start of those quiet windows; gives up after `maxMs` and answers the
 * last reading.
 */
export async function settledCpu(
  pid: Pids,
  options: { windowMs?: number; idleShare?: number; maxMs?: number } = {},
): Promise<{ cpu: number; at: number; settled: boolean }> {
  const windowMs = options.windowMs ?? 500;
  const idleShare = options.idleShare ?? 0.05;
  const deadline = Date.now() + (options.maxMs ?? 60_000);
  let last = { cpu: treeCpuSeconds(pid), at: Date.now() };
  let quietSince = last;
  let quiet = 0;
  while (Date.now() < deadline) {
    await sleep(windowMs);
    const now = { cpu: treeCpuSeconds(pid), at: Date.now() };
    if (now.cpu - last.cpu < (idleShare * (now.at - last.at)) / 1000) {
      if (quiet === 0) quietSince = last;
      quiet++;
    } else {
      quiet = 0;
    }
    last = now;
    if (quiet >= 2) return { ...quietSince, settled: true };
  }
  return { ...last, settled: false };
}

/** CPU seconds of several processes, read together. */
export interface CpuReading {
  readonly server: number;
  readonly swarms: number;
  readonly bench: number;
}
