import type { Firmware } from '../../domain/model.js';
import type { FirmwareRepository } from '../../domain/ports.js';
import type { Db } from '../database.js';
import { duplicateAs } from '../errors.js';
import type { FirmwareTable } from '../schema.js';

/**
 * Firmwares, on any engine. Each prototype's list is kept in memory once read, since devices poll for it
 * (MCS "compatible firmware"): any write through this repository drops the prototype's entry (a
 * deleted prototype's entry is never asked for again: its id is not reused). The cache is per
 * process; with several nodes, `src/bus/redis/cache-relay.ts` drops entries on every node.
 */
export class SqlFirmwareRepository implements FirmwareRepository {
  private readonly lists = new Map<string, Promise<readonly Firmware[]>>();

  constructor(private readonly db: Db) {}

  async insert(firmware: Firmware, check: (existing: readonly Firmware[]) => Firmware | undefined): Promise<Firmware> {
    try {
      // The commit is on disk when the transaction returns (SQLite's synchronous=FULL, PostgreSQL's
      // synchronous_commit=on): nothing runs after it that could fail and turn a stored firmware
      // into an error answer.
      return await this.db.transaction().execute(async (trx) => {
        // Inserts into one prototype take turns, so that each checks the list as it is: the no-op
        // update holds the prototype row's lock to the end (PostgreSQL runs transactions side by
        // side, from other nodes too; SQLite writes one at a time anyway).
        await trx
          .updateTable('prototypes')
          .set((eb) => ({ name: eb.ref('name') }))
          .where('id', '=', firmware.prototypeId)
          .execute();
        const repeated = check(await listByPrototype(trx, firmware.prototypeId));
        if (repeated) return repeated;
        await trx.insertInto('firmwares').values(toRow(firmware)).execute();
        await writePrerequisites(trx, firmware);
        return firmware;
      });
    } catch (error) {
      throw duplicateAs(error, `version ${firmware.version} already exists in this prototype`);
    } finally {
      this.lists.delete(firmware.prototypeId);
    }
  }

  async get(id: string): Promise<Firmware | undefined> {
    const row = await this.db.selectFrom('firmwares').selectAll().where('id', '=', id).executeTakeFirst();
    return row && (await withPrerequisites(this.db, [row]))[0];
  }

  async listByPrototype(prototypeId: string): Promise<Firmware[]> {
    return [...(await this.sharedListByPrototype(prototypeId))];
  }

  sharedListByPrototype(prototypeId: string): Promise<readonly Firmware[]> {
    let list = this.lists.get(prototypeId);
    if (!list) {
      list = listByPrototype(this.db, prototypeId).then((firmwares) => Object.freeze(firmwares));
      this.lists.set(prototypeId, list);
      list.catch(() => {
        if (this.lists.get(prototypeId) === list) this.lists.delete(prototypeId);
      });
    }
    return list;
  }

  async findByVersion(prototypeId: string, version: string): Promise<Firmware | undefined> {
    const row = await this.db
      .selectFrom('firmwares')
      .selectAll()
      .where('prototype_id', '=', prototypeId)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && (await withPrerequisites(this.db, [row]))[0];
  }

  async update(firmware: Firmware): Promise<void> {
    this.lists.delete(firmware.prototypeId);
    await this.db.transaction().execute(async (trx) => {
      const { id, ...values } = toRow(firmware);
      await trx.updateTable('firmwares').set(values).where('id', '=', id).execute();
      await trx.deleteFrom('firmware_prerequisites').where('firmware_id', '=', id).execute();
      await writePrerequisites(trx, firmware);
    });
    this.lists.delete(firmware.prototypeId);
  }

  async delete(id: string): Promise<void> {
    // Deleting a firmware changes other firmwares' prerequisite lists too: drop every entry.
    this.lists.clear();
    await this.db.deleteFrom('firmwares').where('id', '=', id).execute();
    this.lists.clear();
  }

  /** Drops the kept list of a prototype, or every list: another node wrote to them. */
  forgetLists(prototypeId: string | undefined): void {
    if (prototypeId === undefined) this.lists.clear();
    else this.lists.delete(prototypeId);
  }

  async listDependents(firmwareId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('firmware_prerequisites')
      .select('firmware_id')
      .where('prerequisite_id', '=', firmwareId)
      .orderBy('firmware_id')
      .execute();
    return rows.map((row) => row.firmware_id);
  }

  async countBySha256(sha256: string): Promise<number> {
    const row = await this.db
      .selectFrom('firmwares')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('sha256', '=', sha256)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

async function listByPrototype(db: Db, prototypeId: string): Promise<Firmware[]> {
  const rows = await db
    .selectFrom('firmwares')
    .selectAll()
    .where('prototype_id', '=', prototypeId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return withPrerequisites(db, rows, prototypeId);
}

/** Joins the prerequisite lists: one query for the rows given, or for the whole prototype. */
async function withPrerequisites(db: Db, rows: FirmwareTable[], prototypeId?: string): Promise<Firmware[]> {
  const limited = rows.filter((row) => row.prerequisites_all === 0);
  if (limited.length === 0) return rows.map((row) => fromRow(row, []));
  let query = db
    .selectFrom('firmware_prerequisites')
    .innerJoin('firmwares', 'firmwares.id', 'firmware_prerequisites.firmware_id')
    .select(['firmware_prerequisites.firmware_id', 'firmware_prerequisites.prerequisite_id']);
  query =
    prototypeId === undefined
      ? query.where(
          'firmware_prerequisites.firmware_id',
          'in',
          limited.map((row) => row.id),
        )
      : query.where('firmwares.prototype_id', '=', prototypeId);
  const lists = new Map<string, string[]>();
  for (const link of await query.orderBy('firmware_prerequisites.prerequisite_id').execute()) {
    const list = lists.get(link.firmware_id) ?? [];
    list.push(link.prerequisite_id);
    lists.set(link.firmware_id, list);
  }
  return rows.map((row) => fromRow(row, lists.get(row.id) ?? []));
}

async function writePrerequisites(db: Db, firmware: Firmware): Promise<void> {
  if (firmware.prerequisites === 'all' || firmware.prerequisites.length === 0) return;
  await db
    .insertInto('firmware_prerequisites')
    .values(firmware.prerequisites.map((prerequisite) => ({ firmware_id: firmware.id, prerequisite_id: prerequisite })))
    .execute();
}

function toRow(firmware: Firmware): FirmwareTable {
  return {
    id: firmware.id,
    prototype_id: firmware.prototypeId,
    name: firmware.name,
    version: firmware.version,
    release_note: firmware.releaseNote,
    file_name: firmware.fileName,
    size: firmware.size,
    md5: firmware.md5,
    sha256: firmware.sha256,
    prerequisites_all: firmware.prerequisites === 'all' ? 1 : 0,
    created_at: firmware.createdAt.getTime(),
  };
}

function fromRow(row: FirmwareTable, prerequisites: string[]): Firmware {
  return {
    id: row.id,
    prototypeId: row.prototype_id,
    name: row.name,
    version: row.version,
    releaseNote: row.release_note,
    fileName: row.file_name,
    size: row.size,
    md5: row.md5,
    sha256: row.sha256,
    prerequisites: row.prerequisites_all === 1 ? 'all' : prerequisites,
    createdAt: new Date(row.created_at),
  };
}
