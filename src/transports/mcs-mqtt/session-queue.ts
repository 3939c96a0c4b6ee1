import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Client } from 'aedes';
import type { Redis } from 'ioredis';

const require = createRequire(import.meta.url);

/**
 * How much a persistent session (clean=false) may keep of the QoS 1 and 2 messages routed to it:
 * those queued while its client is away, and those sent and not acknowledged yet. Past
 * `maxPackets` the oldest are dropped, and each is dropped `ttlMs` after it was queued.
 *
 * Oldest first, rather than refusing the newest: what a device's topics carry are data points
 * whose last value matters most, and a full queue of stale messages must not keep fresh ones out
 * (nor may a publisher be refused, MQTT 3.1.1 cannot tell it why).
 */
export interface SessionQueueLimits {
  readonly maxPackets: number;
  readonly ttlMs: number;
}

export const DEFAULT_SESSION_QUEUE: SessionQueueLimits = { maxPackets: 100, ttlMs: 86_400_000 };

/** The fields of an aedes packet this file reads. */
interface QueuedPacket {
  cmd?: string;
  brokerId?: string;
  brokerCounter?: number;
  messageId?: number;
}

/** aedes-persistence's packet copy (aedes-packet), which each client's queue keeps its own of. */
const { Packet } = require('aedes-persistence') as { Packet: new (packet: object) => QueuedPacket };

/** The outgoing methods of an aedes persistence, which both bounds below replace or wrap. */
interface Outgoing {
  outgoingEnqueue(sub: { clientId: string }, packet: object): Promise<unknown>;
  outgoingEnqueueCombi(subs: readonly { clientId: string }[], packet: object): Promise<unknown>;
  outgoingUpdate(client: Client, packet: QueuedPacket): Promise<unknown>;
  outgoingClearMessageId(client: Client, packet: QueuedPacket): Promise<QueuedPacket | undefined>;
  outgoingStream(client: Client): Readable | AsyncIterable<unknown>;
  destroy(): Promise<void>;
}

interface Entry {
  packet: QueuedPacket;
  readonly expiresAt: number;
}

/**
 * aedes-persistence (in memory) with its per-client outgoing queue replaced by a bounded one: the
 * original keeps every message of a session whose client never comes back, for ever. The same
 * matching as the original (by broker id and counter, else by message id); expired entries are
 * left out when a client resumes, and swept every minute (or every TTL, when shorter).
 */
export function boundMemoryQueue<P extends object>(
  persistence: P,
  limits: SessionQueueLimits,
  now: () => number = Date.now,
): P {
  const store = persistence as unknown as Outgoing;
  const queues = new Map<string, Entry[]>();
  const live = (queue: Entry[], at: number): Entry[] => {
    const first = queue.findIndex((entry) => entry.expiresAt > at);
    if (first !== 0) queue.splice(0, first < 0 ? queue.length : first);
    return queue;
  };
  const enqueue = (clientId: string, packet: object): void => {
    let queue = queues.get(clientId);
    if (!queue) queues.set(clientId, (queue = []));
    queue.push({ packet: new Packet(packet), expiresAt: now() + limits.ttlMs });
    if (queue.length > limits.maxPackets) queue.splice(0, queue.length - limits.maxPackets);
  };
  store.outgoingEnqueue = async (sub, packet) => enqueue(sub.clientId, packet);
  store.outgoingEnqueueCombi = async (subs, packet) => {
    for (const sub of subs) enqueue(sub.clientId, packet);
  };
  store.outgoingUpdate = async (client, packet) => {
    for (const entry of queues.get(client.id) ?? []) {
      const queued = entry.packet;
      if (queued.brokerId === packet.brokerId) {
        if (queued.brokerCounter === packet.brokerCounter) {
          queued.messageId = packet.messageId;
          return;
        }
        // Message ids wrap at 65535: another counter with the same id is another packet.
      } else if (queued.messageId === packet.messageId) {
        entry.packet = packet;
        return;
      }
    }
    // Dropped from the queue (past the count or the TTL) while on its way: it still goes out, and
    // its PUBACK clears nothing. The original throws, which makes aedes close the client.
  };
  store.outgoingClearMessageId = async (client, packet) => {
    const queue = queues.get(client.id);
    const index = queue?.findIndex((entry) => entry.packet.messageId === packet.messageId) ?? -1;
    if (!queue || index < 0) return undefined;
    const [entry] = queue.splice(index, 1);
    if (queue.length === 0) queues.delete(client.id);
    return entry!.packet;
  };
  store.outgoingStream = (client) => {
    const queue = queues.get(client.id);
    return Readable.from(queue ? live(queue, now()).map((entry) => entry.packet) : []);
  };
  const sweep = setInterval(
    () => {
      const at = now();
      for (const [clientId, queue] of queues) if (live(queue, at).length === 0) queues.delete(clientId);
    },
    Math.min(limits.ttlMs, 60_000),
  );
  sweep.unref();
  const destroy = store.destroy.bind(persistence);
  store.destroy = async () => {
    clearInterval(sweep);
    queues.clear();
    await destroy();
  };
  return persistence;
}

/** aedes-persistence-redis's options for the bounds: each queued packet's key expires with the TTL. */
export const redisQueueOptions = (limits: SessionQueueLimits) => ({
  maxSessionDelivery: limits.maxPackets,
  packetTTL: () => ttlSeconds(limits),
});

/**
 * aedes-persistence-redis with each client's outgoing list trimmed to its newest `maxPackets`
 * entries after every enqueue, and expiring `ttlMs` after the last one. The packets themselves
 * expire with `redisQueueOptions`' TTL (their keys are shared by every client they were queued
 * for); an entry whose packet expired is skipped and removed when the client resumes.
 */
export function boundRedisQueue<P extends object>(persistence: P, conn: Redis, limits: SessionQueueLimits): P {
  const store = persistence as unknown as Outgoing;
  const enqueueCombi = store.outgoingEnqueueCombi.bind(persistence);
  const trim = async (subs: readonly { clientId: string }[]) => {
    const batch = conn.multi();
    for (const { clientId } of subs) {
      // aedes-persistence-redis's key of a client's outgoing list (the connection adds our prefix).
      const key = `outgoing:${encodeURIComponent(clientId)}`;
      batch.ltrim(key, -limits.maxPackets, -1).expire(key, ttlSeconds(limits));
    }
    await batch.exec();
  };
  store.outgoingEnqueueCombi = async (subs, packet) => {
    await enqueueCombi(subs, packet);
    if (subs.length > 0) await trim(subs);
  };
  // The original's single enqueue calls its own combined one, not this wrapper.
  store.outgoingEnqueue = (sub, packet) => store.outgoingEnqueueCombi([sub], packet);
  return persistence;
}

const ttlSeconds = (limits: SessionQueueLimits): number => Math.max(1, Math.ceil(limits.ttlMs / 1000));
