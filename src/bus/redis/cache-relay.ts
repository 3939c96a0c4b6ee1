import type { SqlFirmwareRepository } from '../../db/repositories/firmwares.js';
import type { SqlPrototypeRepository } from '../../db/repositories/prototypes.js';
import { channels } from './keys.js';
import type { RedisLink } from './link.js';

interface Dropped {
  readonly from: string;
  readonly cache: 'firmwares' | 'prototypes';
  /** The prototype whose entry is stale; null: every entry. */
  readonly id: string | null;
}

type Caching = {
  readonly firmwares: Pick<SqlFirmwareRepository, 'insert' | 'update' | 'delete' | 'forgetLists'>;
  readonly prototypes: Pick<SqlPrototypeRepository, 'update' | 'delete' | 'forgetKept'>;
};

/**
 * The firmware lists and prototypes the repositories keep in memory, dropped on every node: each
 * write through this node's repositories is announced on `fota:caches` once it is done, and every
 * other node drops the same entries, so the next device poll there reads the database again.
 * Wraps the repositories' write methods in place; returns the function that stops listening.
 */
export async function relayCacheDrops(
  link: RedisLink,
  repositories: Caching,
  onError: (error: unknown) => void,
): Promise<() => Promise<void>> {
  const announce = (cache: Dropped['cache'], id: string | null) => {
    const dropped: Dropped = { from: link.nodeId, cache, id };
    link.publish(channels.caches, JSON.stringify(dropped)).catch(onError);
  };
  const after =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>, done: (...args: A) => void) =>
    async (...args: A): Promise<R> => {
      try {
        return await write(...args);
      } finally {
        done(...args);
      }
    };
  const { firmwares, prototypes } = repositories;
  const writable = firmwares as { -readonly [K in keyof typeof firmwares]: (typeof firmwares)[K] };
  writable.insert = after(firmwares.insert.bind(firmwares), (firmware) => announce('firmwares', firmware.prototypeId));
  writable.update = after(firmwares.update.bind(firmwares), (firmware) => announce('firmwares', firmware.prototypeId));
  // A deleted firmware changes other firmwares' prerequisite lists too.
  writable.delete = after(firmwares.delete.bind(firmwares), (_id: string) => announce('firmwares', null));
  const kept = prototypes as { -readonly [K in keyof typeof prototypes]: (typeof prototypes)[K] };
  kept.update = after(prototypes.update.bind(prototypes), (prototype) => announce('prototypes', prototype.id));
  kept.delete = after(prototypes.delete.bind(prototypes), (id) => announce('prototypes', id));

  return link.subscribe(channels.caches, (message) => {
    const dropped = JSON.parse(message) as Dropped;
    if (dropped.from === link.nodeId) return;
    if (dropped.cache === 'firmwares') firmwares.forgetLists(dropped.id ?? undefined);
    else if (dropped.id !== null) prototypes.forgetKept(dropped.id);
  });
}
