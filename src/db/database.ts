import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import { migrations } from './migrations/index.js';
import type { Tables } from './schema.js';

export type Db = Kysely<Tables>;

/**
 * Opens the SQLite database: WAL journal with NORMAL synchronous, so a commit survives the process
 * being killed without an fsync per commit (push statuses change thousands of times a minute);
 * `makeDurable` flushes to disk where a commit must also survive a power cut. Foreign keys on.
 */
export function openSqlite(path: string): Db {
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return new Kysely<Tables>({ dialect: new SqliteDialect({ database: keepingStatements(database) }) });
}

/** How many prepared statements `keepingStatements` keeps, the least recently used dropped first. */
const KEPT_STATEMENTS = 256;

/**
 * Kysely prepares every query anew, which costs about as much as running a small one; this keeps
 * the prepared statements by their SQL text and reuses them. A statement still busy (an open
 * iterator) is not shared: the query gets a fresh one.
 */
export function keepingStatements(database: Database.Database): SqliteDatabase {
  const kept = new Map<string, Database.Statement>();
  return {
    close: () => database.close(),
    prepare(text: string) {
      let statement = kept.get(text);
      if (statement && !statement.busy) {
        kept.delete(text);
        kept.set(text, statement);
        return statement;
      }
      statement = database.prepare(text);
      kept.set(text, statement);
      if (kept.size > KEPT_STATEMENTS) kept.delete(kept.keys().next().value!);
      return statement;
    },
  };
}

/** Applies the migrations not applied yet and returns their names. */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

/** Flushes every commit so far to disk (a WAL checkpoint syncs the log, then the database). */
export async function makeDurable(db: Db): Promise<void> {
  await sql`PRAGMA wal_checkpoint(PASSIVE)`.execute(db);
}
