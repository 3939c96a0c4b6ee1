import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export type MessageHandler = (message: string) => void;

/**
 * One node's connection to Redis: a client for commands and one in subscriber mode (Redis allows
 * no other command on a subscribed connection), with handlers per channel. The node has a random
 * id unless configured.
 */
export class RedisLink {
  readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, Set<MessageHandler>>();

  private constructor(
    readonly url: string,
    readonly nodeId: string,
    private readonly onError: (error: unknown) => void,
  ) {
    const options = { lazyConnect: true, maxRetriesPerRequest: 3, enableOfflineQueue: true } as const;
    // Commands issued in one turn of the event loop go out in one write: a push to many devices
    // held by other nodes makes thousands of small requests at once.
    this.commands = new Redis(url, { ...options, enableAutoPipelining: true });
    this.subscriber = new Redis(url, options);
    this.commands.on('error', onError);
    this.subscriber.on('error', onError);
    this.subscriber.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) {
        try {
          handler(message);
        } catch (error) {
          this.onError(error);
        }
      }
    });
  }

  /** Connects both clients; a Redis that cannot be reached is one error that names the URL. */
  static async open(url: string, nodeId: string | undefined, onError: (error: unknown) => void): Promise<RedisLink> {
    const link = new RedisLink(url, nodeId ?? newNodeId(), onError);
    try {
      await Promise.all([link.commands.connect(), link.subscriber.connect()]);
    } catch (error) {
      link.commands.disconnect();
      link.subscriber.disconnect();
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Redis at ${redactUrl(url)} cannot be reached (${reason}): check FOTA_REDIS_URL`, {
        cause: error,
      });
    }
    return link;
  }

  /** Calls `handler` with each message on `channel`; returns the function that stops it. */
  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        await this.subscriber.unsubscribe(channel).catch(this.onError);
      }
    };
  }

  /** Publishes and answers how many nodes' subscribers got it. */
  publish(channel: string, message: string): Promise<number> {
    return this.commands.publish(channel, message);
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
  }
}

/** 16 random hex digits: unique among the nodes of any cluster. */
export const newNodeId = (): string => randomBytes(8).toString('hex');

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured URL';
  }
}
