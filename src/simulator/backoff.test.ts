import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

const policy = { initialMs: 1_000, maxMs: 15_000, stableMs: 10_000 };

describe('Backoff', () => {
  it('doubles up to the maximum, with jitter from half to all of the wait', () => {
    const highest = new Backoff(policy, () => 1);
    expect(Array.from({ length: 6 }, () => highest.next())).toEqual([1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    const lowest = new Backoff(policy, () => 0);
    expect(Array.from({ length: 6 }, () => lowest.next())).toEqual([500, 1_000, 2_000, 4_000, 7_500, 7_500]);
  });

  it('starts small again after a stable connection, not after a short one', () => {
    const backoff = new Backoff(policy, () => 1);
    backoff.next();
    backoff.next();
    backoff.ended(9_999);
    expect(backoff.next()).toBe(4_000);
    backoff.ended(10_000);
    expect(backoff.next()).toBe(1_000);
    backoff.reset();
    expect(backoff.next()).toBe(1_000);
  });

  it('stays at the maximum after many failures', () => {
    const backoff = new Backoff(policy, () => 1);
    for (let n = 0; n < 100; n++) backoff.next();
    expect(backoff.next()).toBe(15_000);
  });
});
