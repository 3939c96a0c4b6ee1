/** When to try a delivery again, and when to give up. */
export interface RetryPolicy {
  /** The wait after the first failed try; each further failure doubles it. */
  readonly baseDelayMs: number;
  /** The longest wait between two tries. */
  readonly maxDelayMs: number;
  /** Tries in all, the first included; the delivery fails after the last. */
  readonly maxAttempts: number;
  /** A delivery older than this is not tried again: it fails. */
  readonly maxAgeMs: number;
}

/**
 * The wait after `failures` failed tries (1 for the first): exponential, capped, with "equal
 * jitter" (half fixed, half random) so receivers coming back up are not hit by every node at once.
 */
export function retryDelayMs(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
  const exponential = policy.baseDelayMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  const capped = Math.min(policy.maxDelayMs, exponential);
  return Math.round(capped / 2 + (capped / 2) * random());
}

/** The next try's time after `attempts` failed tries of a delivery created at `createdAt`, or none. */
export function nextAttemptAt(
  policy: RetryPolicy,
  attempts: number,
  createdAt: Date,
  now: Date,
  random?: () => number,
): Date | undefined {
  if (attempts >= policy.maxAttempts) return undefined;
  const next = now.getTime() + retryDelayMs(policy, attempts, random);
  if (next - createdAt.getTime() > policy.maxAgeMs) return undefined;
  return new Date(next);
}
