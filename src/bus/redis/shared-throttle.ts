import { AuthThrottle, type AuthThrottleOptions, type FailureThrottle } from '../../net/auth-throttle.js';
import { channels } from './keys.js';
import type { RedisLink } from './link.js';

interface Failure {
  readonly from: string;
  readonly subject: string | null;
}

/**
 * A throttle of failed authentication shared by the nodes of a cluster: each node keeps its
 * buckets in memory, so a decision costs no round trip, and every failure is published to the
 * throttle's channel, where every other node counts it too. An address that spreads its guesses
 * over the nodes behind a load balancer is refused everywhere after `burst` failures in all (a
 * failure on another node counts here a moment later, once pub/sub delivered it).
 */
export class SharedAuthThrottle implements FailureThrottle {
  private readonly buckets: AuthThrottle;
  private stop: (() => Promise<void>) | undefined;

  private constructor(
    private readonly name: string,
    private readonly link: RedisLink,
    options: AuthThrottleOptions,
    private readonly onError: (error: unknown) => void,
  ) {
    this.buckets = new AuthThrottle(options);
  }

  /** `name` tells the cluster's throttles apart (addresses, accounts). */
  static async start(
    name: string,
    link: RedisLink,
    options: AuthThrottleOptions,
    onError: (error: unknown) => void,
  ): Promise<SharedAuthThrottle> {
    const throttle = new SharedAuthThrottle(name, link, options, onError);
    throttle.stop = await link.subscribe(channels.throttle(name), (message) => throttle.received(message));
    return throttle;
  }

  retryAfterMs(address: string | undefined): number {
    return this.buckets.retryAfterMs(address);
  }

  retryAfterSeconds(address: string | undefined): number {
    return this.buckets.retryAfterSeconds(address);
  }

  failed(address: string | undefined): void {
    this.buckets.failed(address);
    const failure: Failure = { from: this.link.nodeId, subject: address ?? null };
    this.link.publish(channels.throttle(this.name), JSON.stringify(failure)).catch(this.onError);
  }

  async close(): Promise<void> {
    await this.stop?.();
  }

  private received(message: string): void {
    const failure = JSON.parse(message) as Failure;
    if (failure.from !== this.link.nodeId) this.buckets.failed(failure.subject ?? undefined);
  }
}
