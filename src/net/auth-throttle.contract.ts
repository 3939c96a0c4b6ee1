import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuthThrottleOptions, FailureThrottle } from './auth-throttle.js';

export interface ThrottleCluster {
  /** One throttle per node, all counting the same failures. */
  readonly nodes: readonly FailureThrottle[];
  close(): Promise<void>;
}

/** A failure on another node counts here once it arrived: waited for, generously. */
const eventually = (assertion: () => void) => vi.waitFor(assertion, { timeout: 15_000, interval: 20 });

/**
 * The contract of a throttle of failed authentication, for every store: `create(n, options)` makes
 * the throttles of `n` nodes (in one process, every node is the same throttle). Failures anywhere
 * count everywhere; addresses count apart; IPv6 per /64.
 */
export function throttleContract(
  name: string,
  create: (nodeCount: number, options: AuthThrottleOptions) => Promise<ThrottleCluster>,
): void {
  describe(`FailureThrottle contract: ${name}`, () => {
    let cluster: ThrottleCluster | undefined;
    afterEach(async () => {
      await cluster?.close();
      cluster = undefined;
    });
    // One failure regained an hour: nothing refills during a test.
    const options = { burst: 4, failuresPerMinute: 1 / 60, maxAddresses: 1000 };

    it('refuses an address on every node once its failures on all nodes together spent the burst', async () => {
      cluster = await create(2, options);
      const [a, b] = cluster.nodes as [FailureThrottle, FailureThrottle];
      // Two failures on each node: only counted together do they spend the burst of four.
      a.failed('10.9.0.1');
      b.failed('10.9.0.1');
      a.failed('10.9.0.1');
      b.failed('10.9.0.1');
      for (const node of [a, b]) {
        await eventually(() => expect(node.retryAfterMs('10.9.0.1')).toBeGreaterThan(0));
        expect(node.retryAfterSeconds('10.9.0.1')).toBeGreaterThan(0);
      }
    });

    it('counts each address apart, on every node', async () => {
      cluster = await create(2, options);
      const [a, b] = cluster.nodes as [FailureThrottle, FailureThrottle];
      for (let i = 0; i < 4; i++) a.failed('10.9.0.2');
      await eventually(() => expect(b.retryAfterMs('10.9.0.2')).toBeGreaterThan(0));
      expect(a.retryAfterMs('10.9.0.3')).toBe(0);
      expect(b.retryAfterMs('10.9.0.3')).toBe(0);
    });

    it('counts an IPv6 /64 as one address across nodes', async () => {
      cluster = await create(2, options);
      const [a, b] = cluster.nodes as [FailureThrottle, FailureThrottle];
      for (let i = 1; i <= 4; i++) (i % 2 ? a : b).failed(`2001:db8:1:2::${i}`);
      for (const node of [a, b]) {
        await eventually(() => expect(node.retryAfterMs('2001:db8:1:2:ffff::1')).toBeGreaterThan(0));
      }
      expect(a.retryAfterMs('2001:db8:1:3::1')).toBe(0);
    });
  });
}
