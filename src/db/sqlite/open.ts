import BetterSqlite from 'better-sqlite3';
import { Kysely, sql, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Database, Engine } from '../database.js';
import type { Tables } from '../schema.js';
import { translatingDialect } from '../translating-dialect.js';
import { translateSqliteError } from './errors.js';
import { immediateTransactions } from './immediate-transactions.js';

/** SQLite as the repositories and migrations see it. */
export const sqliteEngine: Engine = {
  name: 'SQLite',
  maxParameters: 32_766,
  parameter: () => '?',
  // SQLite compares and sorts text byte by byte (BINARY) unless told otherwise.
  text: 'text',
  serial: { type: 'integer', modify: (column) => column.primaryKey().autoIncrement() },
  async version(db) {
    const { rows } = await sql<{ version: string }>`select sqlite_version() as version`.execute(db);
    return `SQLite ${rows[0]!.version}`;
  },
};

/**
 * Opens the SQLite database: WAL journal with FULL synchronous, so every commit is flushed to disk
 * before it returns and survives a power cut, not only the process being killed (a rotated device
 * key, an admin token, a push status, a firmware row). Foreign keys on. Transactions that may write
 * begin IMMEDIATE, so that the workers of `fota serve --workers` writing one file take turns.
 */
export function openSqlite(path: string): Database {
  const database = new BetterSqlite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const dialect = new SqliteDialect({ database: keepingStatements(database) });
  return {
    db: new Kysely<Tables>({ dialect: translatingDialect(immediateTransactions(dialect), translateSqliteError) }),
    engine: sqliteEngine,
    location: path,
  };
}

/** How many prepared statements `keepingStatements` keeps, the least recently used dropped first. */
const KEPT_STATEMENTS = 256;

/**
 * Kysely prepares every query anew, which costs about as much as running a small one; this keeps
 * the prepared statements by their SQL text and reuses them. A statement still busy (an open
 * iterator) is not shared: the query gets a fresh one.
 */
export function keepingStatements(database: BetterSqlite.Database): SqliteDatabase {
  const kept = new Map<string, BetterSqlite.Statement>();
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
