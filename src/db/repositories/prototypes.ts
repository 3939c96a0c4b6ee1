import type { Board, Prototype, VersionPolicy } from '../../domain/model.js';
import type { PrototypeRepository } from '../../domain/ports.js';
import type { Db } from '../database.js';
import type { PrototypeTable } from '../schema.js';

/**
 * Prototypes, on any engine. Each one read is kept in memory, since every device poll needs its version
 * policy: only this repository writes prototypes, and each write drops the entry before and after it
 * (a read that started before the write cannot leave its answer behind). Per process, like the
 * firmware lists.
 */
export class SqlPrototypeRepository implements PrototypeRepository {
  private readonly kept = new Map<string, Promise<Prototype | undefined>>();

  constructor(private readonly db: Db) {}

  async insert(prototype: Prototype): Promise<void> {
    await this.writing(prototype.id, () => this.db.insertInto('prototypes').values(toRow(prototype)).execute());
  }

  get(id: string): Promise<Prototype | undefined> {
    let prototype = this.kept.get(id);
    if (!prototype) {
      prototype = this.db
        .selectFrom('prototypes')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst()
        .then((row) => row && Object.freeze(fromRow(row)));
      const entry = prototype;
      this.kept.set(id, entry);
      // Neither a failed read nor an unknown id is kept.
      entry.then(
        (found) => found === undefined && this.forget(id, entry),
        () => this.forget(id, entry),
      );
    }
    return prototype;
  }

  async list(): Promise<Prototype[]> {
    const rows = await this.db.selectFrom('prototypes').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(fromRow);
  }

  async update(prototype: Prototype): Promise<void> {
    const { id, ...values } = toRow(prototype);
    await this.writing(id, () => this.db.updateTable('prototypes').set(values).where('id', '=', id).execute());
  }

  async delete(id: string): Promise<void> {
    await this.writing(id, () => this.db.deleteFrom('prototypes').where('id', '=', id).execute());
  }

  /** Drops the kept prototype: another node wrote to it. */
  forgetKept(id: string): void {
    this.kept.delete(id);
  }

  private async writing(id: string, write: () => Promise<unknown>): Promise<void> {
    this.kept.delete(id);
    try {
      await write();
    } finally {
      this.kept.delete(id);
    }
  }

  private forget(id: string, entry: Promise<Prototype | undefined>): void {
    if (this.kept.get(id) === entry) this.kept.delete(id);
  }
}

function toRow(prototype: Prototype): PrototypeTable {
  return {
    id: prototype.id,
    name: prototype.name,
    description: prototype.description,
    version_policy: prototype.versionPolicy,
    board: prototype.board,
    created_at: prototype.createdAt.getTime(),
  };
}

function fromRow(row: PrototypeTable): Prototype {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    versionPolicy: row.version_policy as VersionPolicy,
    board: row.board as Board,
    createdAt: new Date(row.created_at),
  };
}
