import { describe, expect, it } from 'vitest';
import { clockFinding, MIN_REDIS_VERSION, nodesFinding, versionAtLeast } from './doctor-redis.js';

describe('the Redis checks of fota doctor', () => {
  it.each([
    ['7.0.15', true],
    ['4.0.0', true],
    ['4.0', true],
    ['10.2.1', true],
    ['3.2.12', false],
    ['3.9.99', false],
    ['unknown', false],
  ])('counts Redis %s as new enough: %s', (version, enough) => {
    expect(versionAtLeast(version, MIN_REDIS_VERSION)).toBe(enough);
  });

  it('finds a clock within 2 s fine, and warns past it, saying which side is ahead', () => {
    expect(clockFinding(-1999)).toEqual({
      text: "this machine's clock is within 2.0 s of Redis's",
      details: { skewMs: -1999 },
    });
    const ahead = clockFinding(-3200);
    expect(ahead.warning).toBe(true);
    expect(ahead.text).toMatch(/^this machine's clock is 3\.2 s ahead of Redis's \(more than 2 s\): .*run NTP/);
    expect(clockFinding(2500).text).toMatch(/^this machine's clock is 2\.5 s behind Redis's/);
  });

  it('lists the live nodes by id with the age of their last refresh', () => {
    const now = 1_000_000;
    expect(nodesFinding([], now).text).toMatch(/^no live node in Redis/);
    expect(
      nodesFinding(
        [
          { id: 'a', refreshedAt: now - 4_000, ttlMs: 26_000 },
          { id: 'b', refreshedAt: undefined, ttlMs: 1000 },
        ],
        now,
      ),
    ).toEqual({
      text: '2 live nodes: a (refreshed 4 s ago), b',
      details: {
        nodes: [
          { id: 'a', refreshedAt: now - 4_000, ttlMs: 26_000 },
          { id: 'b', refreshedAt: undefined, ttlMs: 1000 },
        ],
      },
    });
  });
});
