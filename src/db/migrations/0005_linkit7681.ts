import type { Kysely } from 'kysely';

/**
 * Prototypes say what boards their devices are: `mcs` (every prototype so far) or `linkit7681`
 * (LinkIt Connect 7681, issue 11). Schema builder only, portable types: it runs on SQLite and
 * PostgreSQL alike.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('prototypes')
    .addColumn('board', 'text', (c) => c.notNull().defaultTo('mcs'))
    .execute();
}
