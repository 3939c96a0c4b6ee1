import type { Client } from 'aedes';
import aedesPersistence from 'aedes-persistence';

/**
 * The package is CommonJS (`module.exports = factory`) with typings that declare an ES default
 * export, which TypeScript then reads as the whole module: the default import is the factory.
 */
const memoryPersistence = aedesPersistence as unknown as typeof aedesPersistence.default;

type ClearMessageId = (client: Client, packet: { cmd?: string; messageId?: number }, callback?: unknown) => unknown;

/**
 * aedes's in-memory persistence, reporting the message id of every PUBACK a client sends.
 *
 * aedes's own `ack` event carries the acknowledged packet only when the persistence stored it,
 * which it never does for clean sessions (every session here is clean): the PUBACK's message id,
 * which aedes hands to `outgoingClearMessageId` in every case, is all there is to match.
 */
export function acknowledgingPersistence(onPuback: (client: Client, messageId: number) => void) {
  const persistence = memoryPersistence();
  const store = persistence as unknown as { outgoingClearMessageId: ClearMessageId };
  const clear = store.outgoingClearMessageId.bind(persistence);
  store.outgoingClearMessageId = (client, packet, callback) => {
    if (packet.cmd === 'puback' && typeof packet.messageId === 'number') onPuback(client, packet.messageId);
    return clear(client, packet, callback);
  };
  return persistence;
}
