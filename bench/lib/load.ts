import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { ownCpuSeconds, treeCpuSeconds } from './proc.js';

export interface LoadResult {
  readonly name: string;
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuSeconds: number;
  /** CPU of the bench process, which runs autocannon: near `seconds` means the client was the limit. */
  readonly clientCpuSeconds: number;
}

export interface LoadTarget {
  readonly name: string;
  readonly url: string;
  /** The process serving it, whose CPU time is counted. */
  readonly pid: number;
  readonly headers: Record<string, string>;
  /** Every answer must be 200 with exactly this body. */
  readonly body: string;
}

/**
 * Loads one target with autocannon for `seconds` after a warm-up of `warmupSeconds` (not counted).
 * Any error, timeout, non-2xx answer or body that differs from `target.body` fails the bench.
 */
export async function loadWithAutocannon(
  target: LoadTarget,
  options: { readonly connections: number; readonly seconds: number; readonly warmupSeconds: number },
): Promise<LoadResult> {
  const run = (duration: number) =>
    autocannon({
      url: target.url,
      connections: options.connections,
      duration,
      timeout: 10,
      headers: target.headers,
      expectBody: target.body,
    });
  await run(options.warmupSeconds);
  const cpuBefore = treeCpuSeconds(target.pid);
  const clientCpuBefore = ownCpuSeconds();
  const start = performance.now();
  const result = await run(options.seconds);
  const seconds = (performance.now() - start) / 1000;
  const serverCpuSeconds = treeCpuSeconds(target.pid) - cpuBefore;
  const clientCpuSeconds = ownCpuSeconds() - clientCpuBefore;
  const failures = result.errors + result.timeouts + result.non2xx + result.mismatches;
  if (failures > 0 || result.requests.total === 0) {
    throw new Error(
      `${target.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers, ${result.mismatches} wrong bodies in ${result.requests.total} requests`,
    );
  }
  return {
    name: target.name,
    requests: result.requests.total,
    seconds,
    requestsPerSecond: result.requests.total / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    serverCpuSeconds,
    clientCpuSeconds,
  };
}
