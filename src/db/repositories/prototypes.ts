import type { Prototype, VersionPolicy } from '../../domain/model.js';
import type { PrototypeRepository } from '../../domain/ports.js';
import type { Db } from '../database.js';
import type { PrototypeTable } from '../schema.js';

export class SqlPrototypeRepository implements PrototypeRepository {
  constructor(private readonly db: Db) {}

  async insert(prototype: Prototype): Promise<void> {
    await this.db.insertInto('prototypes').values(toRow(prototype)).execute();
  }

  async get(id: string): Promise<Prototype | undefined> {
    const row = await this.db.selectFrom('prototypes').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }

  async list(): Promise<Prototype[]> {
    const rows = await this.db.selectFrom('prototypes').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(fromRow);
  }

  async update(prototype: Prototype): Promise<void> {
    const { id, ...values } = toRow(prototype);
    await this.db.updateTable('prototypes').set(values).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('prototypes').where('id', '=', id).execute();
  }
}

function toRow(prototype: Prototype): PrototypeTable {
  return {
    id: prototype.id,
    name: prototype.name,
    description: prototype.description,
    version_policy: prototype.versionPolicy,
    created_at: prototype.createdAt.getTime(),
  };
}

function fromRow(row: PrototypeTable): Prototype {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    versionPolicy: row.version_policy as VersionPolicy,
    createdAt: new Date(row.created_at),
  };
}
