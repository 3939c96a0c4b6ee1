import { Migrator } from 'kysely';
import type { Database } from './database.js';
import { migrationsFor } from './migrations/index.js';

const migrator = ({ db, engine }: Database): Migrator =>
  new Migrator({ db, provider: { getMigrations: async () => migrationsFor(engine) } });

/**
 * Applies the migrations not applied yet and returns their names. On PostgreSQL, Kysely's Migrator
 * holds an advisory lock (`pg_advisory_lock`) while it migrates, in one transaction: nodes that
 * start at once migrate one after the other, and the later ones find nothing left to do.
 */
export async function migrate(database: Database): Promise<string[]> {
  const { error, results } = await migrator(database).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

/** The migrations this database lacks, without applying them (its schema is left as it is). */
export async function pendingMigrations(database: Database): Promise<string[]> {
  const migrations = await migrator(database).getMigrations();
  return migrations.filter((migration) => migration.executedAt === undefined).map((migration) => migration.name);
}
