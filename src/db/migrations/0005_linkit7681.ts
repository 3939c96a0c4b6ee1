import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * Prototypes say what boards their devices are: `mcs` (every prototype so far) or `linkit7681`
 * (LinkIt Connect 7681). Written once for SQLite and PostgreSQL; the text type is the engine's.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .alterTable('prototypes')
    .addColumn('board', engine.text, (c) => c.notNull().defaultTo('mcs'))
    .execute();
}
