import type { Client } from 'aedes';
import { isFotaTopic } from './topics.js';

/** The methods of an aedes persistence this wrapper changes; the others pass through unchanged. */
interface Outgoing {
  outgoingEnqueue(sub: unknown, packet: { topic?: string }): Promise<unknown>;
  outgoingEnqueueCombi(subs: unknown, packet: { topic?: string }): Promise<unknown>;
  outgoingUpdate(client: Client, packet: { topic?: string }): Promise<unknown>;
  outgoingClearMessageId(client: Client, packet: { cmd?: string; messageId?: number }): Promise<unknown>;
  incomingStorePacket(client: Client, packet: { messageId?: number }): Promise<unknown>;
  incomingDelPacket(client: Client, packet: { messageId?: number }): Promise<unknown>;
  cleanIncoming?(client: Client): Promise<unknown>;
}

/**
 * An aedes persistence (in memory, or in Redis) that reports the message id of every PUBACK a
 * client sends, and that never keeps a FOTA command.
 *
 * - aedes's own `ack` event carries the acknowledged packet only when the persistence stored it,
 *   which it never does for clean sessions: the PUBACK's message id, which aedes hands to
 *   `outgoingClearMessageId` in every case, is all there is to match a command.
 * - A FOTA command belongs to the push dispatcher, which sends it to a live connection and queues
 *   it in the database for a device that is offline: stored in a persistent session as well, it
 *   would reach the device twice (once from the session's queue, once from the queued push) when
 *   the device comes back. So commands (on `mcs/ID/KEY/FOTA`, which devices may not publish to)
 *   are never enqueued nor tracked by the persistence.
 * - Nothing is stored for a clean session's outgoing messages, so its PUBACKs are not looked up
 *   (one Redis round trip fewer per PUBACK; the memory store would keep an empty entry per
 *   client id).
 * - A persistence without `cleanIncoming` (Redis) gets one: the QoS 2 packets a clean session left
 *   without PUBREL are deleted when it ends, as aedes does with the memory store.
 */
export function acknowledgingPersistence<P extends object>(
  persistence: P,
  onPuback: (client: Client, messageId: number) => void,
): P {
  const store = persistence as unknown as Outgoing;
  const original = {
    outgoingEnqueue: store.outgoingEnqueue.bind(persistence),
    outgoingEnqueueCombi: store.outgoingEnqueueCombi.bind(persistence),
    outgoingUpdate: store.outgoingUpdate.bind(persistence),
    outgoingClearMessageId: store.outgoingClearMessageId.bind(persistence),
    incomingStorePacket: store.incomingStorePacket.bind(persistence),
    incomingDelPacket: store.incomingDelPacket.bind(persistence),
  };
  store.outgoingEnqueue = async (sub, packet) => {
    if (!isFotaTopic(packet.topic)) await original.outgoingEnqueue(sub, packet);
  };
  store.outgoingEnqueueCombi = async (subs, packet) => {
    if (!isFotaTopic(packet.topic)) await original.outgoingEnqueueCombi(subs, packet);
  };
  store.outgoingUpdate = async (client, packet) => {
    if (!isFotaTopic(packet.topic)) await original.outgoingUpdate(client, packet);
  };
  store.outgoingClearMessageId = async (client, packet) => {
    if (packet.cmd === 'puback' && typeof packet.messageId === 'number') onPuback(client, packet.messageId);
    if (client.clean) return undefined;
    return original.outgoingClearMessageId(client, packet);
  };
  if (typeof store.cleanIncoming !== 'function') {
    // Message ids of the QoS 2 packets each client has stored and not released yet.
    const incoming = new WeakMap<Client, Set<number>>();
    store.incomingStorePacket = async (client, packet) => {
      await original.incomingStorePacket(client, packet);
      if (typeof packet.messageId !== 'number') return;
      let ids = incoming.get(client);
      if (!ids) incoming.set(client, (ids = new Set()));
      ids.add(packet.messageId);
    };
    store.incomingDelPacket = async (client, packet) => {
      await original.incomingDelPacket(client, packet);
      if (typeof packet.messageId === 'number') incoming.get(client)?.delete(packet.messageId);
    };
    store.cleanIncoming = async (client) => {
      const ids = incoming.get(client);
      incoming.delete(client);
      for (const messageId of ids ?? []) await original.incomingDelPacket(client, { messageId }).catch(() => undefined);
    };
  }
  return persistence;
}
