import type { DomainEvent, EventBus, EventListener } from '../../domain/events.js';
import { channels } from './keys.js';
import type { RedisLink } from './link.js';

/**
 * What every node's SSE stream shows, wherever it happened, and the changes of credentials that end
 * a stream on any node; the rest never leaves its node.
 */
export const relayedEvents: ReadonlySet<DomainEvent['type']> = new Set([
  'access.changed',
  'device.online',
  'device.offline',
  'device.reported',
  'push.progress',
]);

interface Relayed {
  readonly from: string;
  readonly event: DomainEvent;
}

/**
 * Events across nodes, in two views of one stream. The domain's handlers (progress recording,
 * queued deliveries, presence) subscribe to the node's local bus and run once, on the node where
 * the event happened. `local()` is that bus, which also relays the events the console follows
 * (`relayedEvents`) to the other nodes through Redis pub/sub. `stream()` is what the SSE route
 * subscribes to: this node's events and those relayed from every other node, never handled by the
 * domain again. Pub/sub keeps the order of one node's events; a node that is not subscribed at
 * the moment misses them (the stream is live, not a log).
 */
export class ClusterEvents {
  private readonly remote = new Set<EventListener>();
  private stop: (() => Promise<void>) | undefined;

  private constructor(
    private readonly bus: EventBus,
    private readonly link: RedisLink,
    private readonly onError: (error: unknown, event: DomainEvent) => void,
  ) {}

  static async start(
    bus: EventBus,
    link: RedisLink,
    onError: (error: unknown, event: DomainEvent) => void,
  ): Promise<ClusterEvents> {
    const events = new ClusterEvents(bus, link, onError);
    events.stop = await link.subscribe(channels.events, (message) => events.received(message));
    return events;
  }

  /** The node's own bus, relaying what the console follows. */
  local(): EventBus {
    return {
      publish: (event) => {
        this.bus.publish(event);
        if (!relayedEvents.has(event.type)) return;
        const relayed: Relayed = { from: this.link.nodeId, event };
        this.link
          .publish(channels.events, JSON.stringify(relayed))
          .catch((error: unknown) => this.onError(error, event));
      },
      subscribe: (listener) => this.bus.subscribe(listener),
    };
  }

  /** The cluster's events, for live streams only: publishing here is publishing locally. */
  stream(): EventBus {
    return {
      publish: (event) => this.local().publish(event),
      subscribe: (listener) => {
        const local = this.bus.subscribe(listener);
        this.remote.add(listener);
        return () => {
          local();
          this.remote.delete(listener);
        };
      },
    };
  }

  async close(): Promise<void> {
    await this.stop?.();
    this.remote.clear();
  }

  private received(message: string): void {
    const relayed = JSON.parse(message) as Relayed;
    if (relayed.from === this.link.nodeId) return;
    const event = { ...relayed.event, at: new Date(relayed.event.at as unknown as string) } as DomainEvent;
    for (const listener of this.remote) {
      try {
        const result = listener(event);
        if (result instanceof Promise) result.catch((error: unknown) => this.onError(error, event));
      } catch (error) {
        this.onError(error, event);
      }
    }
  }
}
