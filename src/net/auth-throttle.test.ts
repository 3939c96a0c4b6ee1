import { describe, expect, it } from 'vitest';
import { AuthThrottle, addressKey } from './auth-throttle.js';
import { throttleContract } from './auth-throttle.contract.js';

function throttle(options: { burst?: number; failuresPerMinute?: number; maxAddresses?: number } = {}) {
  let now = 0;
  const limiter = new AuthThrottle({
    burst: options.burst ?? 3,
    failuresPerMinute: options.failuresPerMinute ?? 6,
    maxAddresses: options.maxAddresses ?? 100,
    now: () => now,
  });
  return { limiter, advance: (ms: number) => (now += ms) };
}

describe('AuthThrottle', () => {
  it('lets an address fail its burst, then refuses it until a failure is regained', () => {
    const { limiter, advance } = throttle({ burst: 3, failuresPerMinute: 6 });
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs('10.0.0.1')).toBe(0);
      limiter.failed('10.0.0.1');
    }
    // Six a minute: one every 10 s.
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(10_000);
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(10);
    advance(4_000);
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(6_000);
    advance(6_000);
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(0);
    limiter.failed('10.0.0.1');
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(10_000);
  });

  it('counts each address on its own', () => {
    const { limiter } = throttle({ burst: 1 });
    limiter.failed('10.0.0.1');
    expect(limiter.retryAfterMs('10.0.0.1')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('10.0.0.2')).toBe(0);
  });

  it('forgets an address once its bucket is full again', () => {
    const { limiter, advance } = throttle({ burst: 2, failuresPerMinute: 60 });
    limiter.failed('10.0.0.1');
    expect(limiter.size).toBe(1);
    advance(1_000);
    expect(limiter.retryAfterMs('10.0.0.1')).toBe(0);
    expect(limiter.size).toBe(0);
  });

  it('remembers at most maxAddresses, dropping the one that failed longest ago', () => {
    const { limiter } = throttle({ burst: 1, maxAddresses: 3 });
    for (let i = 0; i < 1000; i++) limiter.failed(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(3);
    expect(limiter.retryAfterMs('10.0.3.231')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('10.0.0.0')).toBe(0);
  });
});

describe('addressKey', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, '?'],
  ])('%s counts as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

// One process is one node: every node's throttle is the same.
throttleContract('in-memory AuthThrottle', async (nodeCount, options) => {
  const shared = new AuthThrottle(options);
  return { nodes: Array.from({ length: nodeCount }, () => shared), close: async () => undefined };
});
