/** How often a source address may fail to authenticate, on every surface together. */
export interface AuthThrottleOptions {
  /** Failures an address may make at once, before the rate applies. */
  readonly burst: number;
  /** Failures per minute an address regains (the bucket's refill rate). */
  readonly failuresPerMinute: number;
  /** Addresses remembered at most; past it the one that failed longest ago is forgotten. */
  readonly maxAddresses: number;
  /** Monotonic milliseconds; `performance.now` unless a test drives the time. */
  readonly now?: () => number;
  /** What one bucket counts: by default an address (IPv6 per /64); the per-account throttle counts emails. */
  readonly keyOf?: (subject: string | undefined) => string;
}

/**
 * What the surfaces ask of a throttle of failed authentication. Decisions are synchronous, taken
 * before credentials are checked; in a cluster every node's throttle counts every node's failures.
 */
export interface FailureThrottle {
  /** Milliseconds until `address` may try again; 0 when it may try now. */
  retryAfterMs(address: string | undefined): number;
  /** Whole seconds until `address` may try again, for `Retry-After`; 0 when it may try now. */
  retryAfterSeconds(address: string | undefined): number;
  /** Records one failed attempt from `address`. */
  failed(address: string | undefined): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Throttles failed authentication per source address with a token bucket: each address may fail
 * `burst` times, then regains `failuresPerMinute` failures a minute. While an address has no token
 * left, every attempt from it is refused before its credentials are even checked (a correct key
 * too: an attacker must not learn which of its guesses was right). Memory is fixed: at most
 * `maxAddresses` buckets, the least recently failing one dropped first, and a bucket that has
 * refilled is dropped when next looked at. IPv6 addresses count per /64, the block one host gets.
 */
export class AuthThrottle implements FailureThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly now: () => number;
  private readonly keyOf: (subject: string | undefined) => string;

  constructor(private readonly options: AuthThrottleOptions) {
    this.perMs = options.failuresPerMinute / 60_000;
    this.now = options.now ?? (() => performance.now());
    this.keyOf = options.keyOf ?? addressKey;
  }

  /** Milliseconds until `address` may try again; 0 when it may try now. */
  retryAfterMs(address: string | undefined): number {
    const key = this.keyOf(address);
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const tokens = this.refill(key, bucket);
    if (tokens >= 1) return 0;
    return Math.ceil((1 - tokens) / this.perMs);
  }

  /** Whole seconds until `address` may try again, for `Retry-After`; 0 when it may try now. */
  retryAfterSeconds(address: string | undefined): number {
    return Math.ceil(this.retryAfterMs(address) / 1000);
  }

  /** Records one failed attempt from `address`. */
  failed(address: string | undefined): void {
    const key = this.keyOf(address);
    const bucket = this.buckets.get(key);
    const tokens = bucket ? this.refill(key, bucket) : this.options.burst;
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: Math.max(0, tokens - 1), at: this.now() });
    if (this.buckets.size > this.options.maxAddresses) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }

  /** Addresses remembered now. */
  get size(): number {
    return this.buckets.size;
  }

  private refill(key: string, bucket: Bucket): number {
    const now = this.now();
    const tokens = Math.min(this.options.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    if (tokens >= this.options.burst) {
      this.buckets.delete(key);
    } else {
      bucket.tokens = tokens;
      bucket.at = now;
    }
    return tokens;
  }
}

/** IPv4 as it is (also when mapped into IPv6), IPv6 by its /64 prefix. */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** TCP and MQTT wait this long before they close a connection refused for its credentials. */
export const REFUSAL_DELAY_MS = 1000;
