/**
 * How long a device waits before it reconnects. Real clients often loop with no pause (mcs.c)
 * and a server must survive that, but a simulator that does it against a server that is down
 * only burns CPU. So: a first retry after 0.5 to 1 s, each next one twice as long, at most 15 s,
 * every wait with random jitter (from half to all of it) so that many devices dropped at once do
 * not come back in lockstep. A connection that lived at least `stableMs` (10 s) resets the wait.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A connection that lasted this long counts as a success: the next wait starts again small. */
  readonly stableMs: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 1_000, maxMs: 15_000, stableMs: 10_000 };

export class Backoff {
  private failures = 0;

  constructor(
    private readonly policy: BackoffPolicy = defaultBackoff,
    private readonly random: () => number = Math.random,
  ) {}

  /** The wait before the next attempt; each call counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  /** A connection ended after `livedMs`: a stable one forgets earlier failures. */
  ended(livedMs: number): void {
    if (livedMs >= this.policy.stableMs) this.failures = 0;
  }

  reset(): void {
    this.failures = 0;
  }
}
