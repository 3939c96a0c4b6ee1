import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * The audit log of management actions, with an index for each filter (actor, kind, time), and an
 * index of pushes by age for the purge of old push history.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('audit_entries')
    .addColumn('id', engine.serial.type, (c) => engine.serial.modify(c))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor_type', engine.text, (c) => c.notNull())
    .addColumn('actor_user_id', engine.text)
    .addColumn('actor_name', engine.text)
    .addColumn('actor_role', engine.text)
    .addColumn('token_id', engine.text)
    .addColumn('token_name', engine.text)
    .addColumn('address', engine.text, (c) => c.notNull())
    .addColumn('kind', engine.text, (c) => c.notNull())
    .addColumn('target_type', engine.text)
    .addColumn('target_id', engine.text)
    .addColumn('outcome', engine.text, (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('error_code', engine.text)
    .addColumn('details_json', engine.text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_entries_at').on('audit_entries').columns(['at', 'id']).execute();
  await db.schema.createIndex('audit_entries_kind').on('audit_entries').columns(['kind', 'at']).execute();
  await db.schema.createIndex('audit_entries_actor').on('audit_entries').columns(['actor_name', 'at']).execute();
  await db.schema.createIndex('audit_entries_user').on('audit_entries').columns(['actor_user_id', 'at']).execute();
  await db.schema.createIndex('audit_entries_token').on('audit_entries').columns(['token_id', 'at']).execute();
  await db.schema.createIndex('pushes_created').on('pushes').columns(['created_at', 'id']).execute();
}
