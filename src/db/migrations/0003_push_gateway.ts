import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * Pushed download URLs carry a per-target token (stored as its SHA-256) instead of the device id, a
 * target keeps its first status in its row, and a push remembers whether it listed ids or selected every (online) device of its prototype.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema.alterTable('push_targets').addColumn('token_hash', engine.text).execute();
  // A target's first status and reason live in its row, not as a first transition: a push of 10,000
  // devices writes 10,000 rows before it answers, not 20,000. Older targets have that transition.
  await db.schema.alterTable('push_targets').addColumn('first_status', engine.text).execute();
  await db.schema.alterTable('push_targets').addColumn('first_reason', engine.text).execute();
  await db.schema.createIndex('push_targets_token').unique().on('push_targets').column('token_hash').execute();
  await db.schema
    .alterTable('pushes')
    .addColumn('selection', engine.text, (c) => c.notNull().defaultTo('ids'))
    .execute();
}
