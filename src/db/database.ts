import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type SqliteDatabase } from 'kysely';
import { migrations } from './migrations/index.js';
import type { Tables } from './schema.js';

export type Db = Kysely<Tables>;

/**
 * Opens the SQLite database: WAL journal with FULL synchronous, so every commit is flushed to disk
 * before it returns and survives a power cut, not only the process being killed (a rotated device
 * key, an admin token, a push status, a firmware row). Foreign keys on.
 */
export function openSqlite(path: string): Db {
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
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
