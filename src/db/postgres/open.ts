import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database, Engine } from '../database.js';
import type { Tables } from '../schema.js';
import { translatingDialect } from '../translating-dialect.js';
import { translatePostgresError } from './errors.js';

/** PostgreSQL as the repositories and migrations see it. */
export const postgresEngine: Engine = {
  name: 'PostgreSQL',
  maxParameters: 65_535,
  parameter: (position) => `$${position}`,
  // The "C" collation compares bytes, as SQLite does, whatever the database's locale.
  text: sql`text collate "C"`,
  serial: { type: 'bigint', modify: (column) => column.primaryKey().generatedByDefaultAsIdentity() },
  async version(db) {
    const { rows } = await sql<{ version: string }>`select current_setting('server_version') as version`.execute(db);
    return `PostgreSQL ${rows[0]!.version}`;
  },
};

export interface PostgresOptions {
  /** Connections the pool holds at most. */
  readonly poolSize: number;
  /** How long getting a connection may take before the query fails as 'unavailable'. */
  readonly connectTimeoutMs: number;
  /** A connection the server dropped (a restart, a failover): the pool opens a new one. */
  readonly onLostConnection?: (error: Error) => void;
}

/** OID of `bigint` (int8). */
const INT8 = 20;

/**
 * Times (Unix milliseconds), sizes and counts are `bigint` columns, which `pg` hands out as strings
 * since they may pass 2^53; ours never do, so they are parsed into numbers, and one that would lose
 * precision is an error rather than a wrong number. Only for this pool: `pg`'s global parsers are
 * left alone.
 */
function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} does not fit a JavaScript number`);
  return value;
}

/**
 * Opens a pool of connections to PostgreSQL. Durability: every session runs with
 * `synchronous_commit = on` (the server's default, set again in case the server's configuration
 * turned it off), so a commit has reached the write-ahead log on disk when it returns, as with
 * SQLite's synchronous=FULL. Nothing connects until the first query.
 */
export function openPostgres(url: string, location: string, options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    application_name: 'fota',
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8 && format !== 'binary'
          ? parseBigint
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // Without a listener, an idle connection's error would end the process.
  pool.on('error', (error) => options.onLostConnection?.(error));
  pool.on('connect', (client) => {
    // A connection lost while a transaction holds it between two queries (the server restarting)
    // is reported on the connection itself, and would end the process without a listener; the
    // transaction's next query fails as 'unavailable'.
    client.on('error', (error) => options.onLostConnection?.(error));
    // Queued before any query of the connection, so no query runs without it.
    client.query('set synchronous_commit = on').catch(() => undefined);
  });
  const dialect = new PostgresDialect({ pool });
  return {
    db: new Kysely<Tables>({ dialect: translatingDialect(dialect, translatePostgresError) }),
    engine: postgresEngine,
    location,
  };
}
