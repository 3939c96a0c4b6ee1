import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ownCpuSeconds, treeCpuSeconds } from './proc.js';

/** One way to fetch the firmware, and what every answer must be. */
export interface DownloadTarget {
  readonly name: string;
  readonly url: string;
  /** The process (tree) serving it, whose CPU time is counted. */
  readonly pid: number;
  readonly headers: Record<string, string>;
  readonly expect: { readonly status: number; readonly length: number; readonly sha256: string };
}

export interface DownloadTotals {
  readonly name: string;
  readonly rounds: number;
  readonly downloads: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly serverCpuSeconds: number;
  /** CPU of the bench process (the clients): near `seconds` means the client was the limit. */
  readonly clientCpuSeconds: number;
}

/** GETs the target once and checks status, Content-Length, body length and body SHA-256. */
function downloadOnce(agent: Agent, target: DownloadTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(target.url, { agent, headers: target.headers, timeout: 60_000 }, (res) => {
      const hash = createHash('sha256');
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.length;
        hash.update(chunk);
      });
      res.once('error', reject);
      res.once('end', () => {
        const problems: string[] = [];
        if (res.statusCode !== target.expect.status) problems.push(`status ${res.statusCode}`);
        if (res.headers['content-length'] !== String(target.expect.length)) {
          problems.push(`Content-Length ${res.headers['content-length']}`);
        }
        if (length !== target.expect.length) problems.push(`${length} body bytes`);
        const sha256 = hash.digest('hex');
        if (sha256 !== target.expect.sha256) problems.push(`SHA-256 ${sha256}`);
        if (problems.length > 0) {
          reject(
            new Error(
              `${target.name}: broken answer from ${target.url} (${problems.join(', ')}; expected status ${target.expect.status}, ${target.expect.length} bytes, SHA-256 ${target.expect.sha256})`,
            ),
          );
        } else {
          resolve(length);
        }
      });
    });
    req.once('timeout', () => req.destroy(new Error(`${target.name}: no answer within 60 s`)));
    req.once('error', reject);
    req.end();
  });
}

/** `concurrency` downloads started at once; answers the bytes and the seconds until the last ended. */
async function round(
  agent: Agent,
  target: DownloadTarget,
  concurrency: number,
): Promise<{ bytes: number; seconds: number; cpu: number; clientCpu: number }> {
  const cpuBefore = treeCpuSeconds(target.pid);
  const clientCpuBefore = ownCpuSeconds();
  const start = performance.now();
  const lengths = await Promise.all(Array.from({ length: concurrency }, () => downloadOnce(agent, target)));
  const seconds = (performance.now() - start) / 1000;
  return {
    bytes: lengths.reduce((sum, length) => sum + length, 0),
    seconds,
    cpu: treeCpuSeconds(target.pid) - cpuBefore,
    clientCpu: ownCpuSeconds() - clientCpuBefore,
  };
}

/**
 * Rounds of `concurrency` parallel downloads against each target, alternating which goes first, after
 * one warm-up round each; stops after `maxRounds` or once `maxSeconds` have gone by, whichever comes
 * first. Every body is checked, so a broken answer fails the bench.
 */
export async function compareDownloads(
  targets: readonly DownloadTarget[],
  options: { readonly concurrency: number; readonly maxRounds: number; readonly maxSeconds: number },
): Promise<DownloadTotals[]> {
  const agents = targets.map(() => new Agent({ keepAlive: true, maxSockets: options.concurrency }));
  try {
    for (const [i, target] of targets.entries()) await round(agents[i]!, target, options.concurrency);
    const totals = targets.map((target) => ({
      name: target.name,
      rounds: 0,
      downloads: 0,
      bytes: 0,
      seconds: 0,
      serverCpuSeconds: 0,
      clientCpuSeconds: 0,
    }));
    const deadline = performance.now() + options.maxSeconds * 1000;
    for (let r = 0; r < options.maxRounds && performance.now() < deadline; r++) {
      const order = targets.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        const result = await round(agents[i]!, targets[i]!, options.concurrency);
        const total = totals[i]!;
        total.rounds++;
        total.downloads += options.concurrency;
        total.bytes += result.bytes;
        total.seconds += result.seconds;
        total.serverCpuSeconds += result.cpu;
        total.clientCpuSeconds += result.clientCpu;
      }
    }
    return totals;
  } finally {
    for (const agent of agents) agent.destroy();
  }
}
