import { createRequire } from 'node:module';
import type { Client } from 'aedes';
import aedesPersistence from 'aedes-persistence';
import { Redis } from 'ioredis';
import { PREFIX } from '../../bus/redis/keys.js';
import { acknowledgingPersistence } from './acknowledging-persistence.js';
import { boundMemoryQueue, boundRedisQueue, redisQueueOptions, type SessionQueueLimits } from './session-queue.js';
import { deviceOfFilter } from './topics.js';

const require = createRequire(import.meta.url);

/**
 * The package is CommonJS (`module.exports = factory`) with typings that declare an ES default
 * export, which TypeScript then reads as the whole module: the default import is the factory.
 */
const memoryPersistence = aedesPersistence as unknown as typeof aedesPersistence.default;

/** aedes-persistence-redis ships no typings: the factory, and `destroy`, which aedes never calls. */
type RedisPersistenceFactory = (options: { conn: Redis } & ReturnType<typeof redisQueueOptions>) => {
  destroy(): Promise<void>;
};

/** The mqemitter-redis internals that decide which Redis channel a filter or a topic uses. */
interface RedisEmitter {
  _subTopic(filter: string): string;
  _containsWildcard(filter: string): boolean;
  close(callback: () => void): void;
  state: { on(event: 'error', listener: (error: unknown) => void): void };
}
type RedisEmitterFactory = (options: { subConn: Redis; pubConn: Redis; matchEmptyLevels: boolean }) => RedisEmitter;

/** Where MQTT keys and channels live in a Redis shared with the rest of fota. */
export const MQTT_PREFIX = `${PREFIX}mqtt:`;

/**
 * What an aedes broker keeps and how its messages travel: sessions (subscriptions of persistent
 * sessions, their queued QoS 1 messages, bounded by `SessionQueueLimits`, retained messages, wills)
 * in its persistence, and every
 * routed publish through its emitter. In this process (aedes's defaults), or in Redis, shared by
 * every node's broker so that they act as one.
 */
export interface BrokerState {
  /** aedes's `persistence` option, reporting each PUBACK's message id. */
  readonly persistence: object;
  /** aedes's `mq` option; undefined: aedes's own in-process emitter. */
  readonly mq: object | undefined;
  /** After aedes closed (which closes the emitter): releases the persistence and its connections. */
  close(): Promise<void>;
}

export function memoryBrokerState(
  onPuback: (client: Client, messageId: number) => void,
  queue: SessionQueueLimits,
): BrokerState {
  const persistence = acknowledgingPersistence(boundMemoryQueue(memoryPersistence(), queue), onPuback);
  return {
    persistence,
    mq: undefined,
    close: async () => {
      await (persistence as unknown as { destroy(): Promise<void> }).destroy();
    },
  };
}

/**
 * The broker's state in Redis at `url`: aedes-persistence-redis on one connection whose keys are
 * under `fota:mqtt:`, and mqemitter-redis on a publishing and a subscribing connection.
 *
 * mqemitter-redis subscribes one Redis channel per subscription filter, as a pattern when the
 * filter has a wildcard; every Redis PUBLISH is matched against every pattern of every node
 * (O(patterns)), and every MCS device subscribes `mcs/ID/KEY/+`. So a filter or topic under a
 * device's prefix uses that device's own channel, `fota:mqtt:device:<deviceId>`, subscribed
 * exactly (no pattern): a publish costs the same with ten devices or a million, and reaches only
 * the nodes where that device's topics are subscribed; each node's emitter then matches the real
 * topic against its own filters. Only the broker's few `$SYS/...` filters stay patterns.
 */
export async function redisBrokerState(
  url: string,
  onPuback: (client: Client, messageId: number) => void,
  onError: (error: unknown) => void,
  queue: SessionQueueLimits,
): Promise<BrokerState> {
  const options = { lazyConnect: true, maxRetriesPerRequest: 3 } as const;
  const store = new Redis(url, { ...options, keyPrefix: MQTT_PREFIX });
  const subConn = new Redis(url, options);
  const pubConn = new Redis(url, { ...options, enableAutoPipelining: true });
  const connections = [store, subConn, pubConn];
  for (const connection of connections) connection.on('error', onError);
  try {
    await Promise.all(connections.map((connection) => connection.connect()));
  } catch (error) {
    for (const connection of connections) connection.disconnect();
    throw error;
  }

  const publish = pubConn.publish.bind(pubConn) as (channel: string, message: Buffer) => Promise<number>;
  (pubConn as unknown as { publish: typeof publish }).publish = (topic, message) => publish(channelOf(topic), message);
  const mq = (require('mqemitter-redis') as RedisEmitterFactory)({ subConn, pubConn, matchEmptyLevels: true });
  const patternOf = mq._subTopic.bind(mq);
  const hasWildcard = mq._containsWildcard.bind(mq);
  mq._subTopic = (filter) => deviceChannel(filter) ?? `${MQTT_PREFIX}${patternOf(filter)}`;
  mq._containsWildcard = (filter) => deviceChannel(filter) === undefined && hasWildcard(filter);
  mq.state.on('error', onError);

  const redisPersistence = require('aedes-persistence-redis') as RedisPersistenceFactory;
  const persistence = redisPersistence({ conn: store, ...redisQueueOptions(queue) });
  return {
    persistence: acknowledgingPersistence(boundRedisQueue(persistence, store, queue), onPuback),
    mq,
    // aedes closed the emitter (and its two connections); destroy disconnects the store's.
    close: () => persistence.destroy(),
  };
}

/** The Redis channel of a device's filters and topics: `mcs/ID/KEY/...` with the id and key written out. */
function deviceChannel(filterOrTopic: string): string | undefined {
  const device = deviceOfFilter(filterOrTopic);
  return device && `${MQTT_PREFIX}device:${device.deviceId}`;
}

const channelOf = (topic: string): string => deviceChannel(topic) ?? `${MQTT_PREFIX}${topic}`;
