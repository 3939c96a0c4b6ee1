import type { RedisConfig } from '../../config/index.js';
import type { DomainEvent, EventBus } from '../../domain/events.js';
import type { DeviceConnections } from '../../domain/services/connections.js';
import type { AuthThrottleOptions } from '../../net/auth-throttle.js';
import { relayCacheDrops } from './cache-relay.js';
import { ClusterEvents } from './cluster-events.js';
import { ClusterGateway } from './cluster-gateway.js';
import { RedisLink } from './link.js';
import { SharedAuthThrottle } from './shared-throttle.js';
import { RedisWaitingDevices } from './waiting-devices.js';

/**
 * What a node shares with the others through Redis, opened once by the composition root: the
 * event relay first (every service publishes on its local view), then the gateway over the node's
 * connections, and the shared throttles.
 */
export class RedisCluster {
  private readonly closing: Array<() => Promise<void>> = [];

  private constructor(
    readonly link: RedisLink,
    readonly events: ClusterEvents,
    private readonly config: RedisConfig,
    private readonly onError: (error: unknown) => void,
  ) {
    this.closing.push(() => events.close());
  }

  get nodeId(): string {
    return this.link.nodeId;
  }

  static async open(
    config: RedisConfig,
    bus: EventBus,
    onError: (error: unknown) => void,
    onEventError: (error: unknown, event: DomainEvent) => void,
  ): Promise<RedisCluster> {
    const link = await RedisLink.open(config.url, config.nodeId, onError);
    try {
      return new RedisCluster(link, await ClusterEvents.start(bus, link, onEventError), config, onError);
    } catch (error) {
      await link.close();
      throw error;
    }
  }

  waiting(): RedisWaitingDevices {
    return new RedisWaitingDevices(this.link);
  }

  async gateway(local: DeviceConnections, bus: EventBus): Promise<ClusterGateway> {
    const gateway = await ClusterGateway.start({
      local,
      events: bus,
      link: this.link,
      presenceTtlMs: this.config.presenceTtlMs,
      requestTimeoutMs: this.config.requestTimeoutMs,
      onError: this.onError,
    });
    this.closing.push(() => gateway.stop());
    return gateway;
  }

  /** Drops the repositories' in-memory entries on every node when this one writes. */
  async relayCaches(repositories: Parameters<typeof relayCacheDrops>[1]): Promise<void> {
    this.closing.push(await relayCacheDrops(this.link, repositories, this.onError));
  }

  async throttle(name: string, options: AuthThrottleOptions): Promise<SharedAuthThrottle> {
    const throttle = await SharedAuthThrottle.start(name, this.link, options, this.onError);
    this.closing.push(() => throttle.close());
    return throttle;
  }

  /** Leaves the cluster: this node's entries are removed, then the connections closed. */
  async close(): Promise<void> {
    for (const close of this.closing.splice(0).reverse()) await close().catch(this.onError);
    await this.link.close();
  }
}
