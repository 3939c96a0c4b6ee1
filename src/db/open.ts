import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { redactUrl, StartError, type Config } from '../config/index.js';
import { isDomainError } from '../domain/errors.js';
import type { Database } from './database.js';
import { migrate } from './migrate.js';
import { openPostgres } from './postgres/open.js';
import { openSqlite } from './sqlite/open.js';

/** The settings that choose and reach the database; the defaults are SQLite's. */
export type DatabaseSettings = Pick<Config, 'dataDir'> &
  Partial<Pick<Config, 'databaseUrl' | 'databasePoolSize' | 'databaseConnectTimeoutMs'>>;

/** The SQLite file of a data folder. */
export const sqlitePath = (dataDir: string): string => join(dataDir, 'fota.sqlite');

/**
 * Picks the engine, once, from the settings: PostgreSQL when FOTA_DATABASE_URL is set, otherwise
 * the SQLite file in the data folder (created with the folder). Nothing is migrated.
 */
export async function connectDatabase(
  settings: DatabaseSettings,
  onLostConnection?: (error: Error) => void,
): Promise<Database> {
  if (settings.databaseUrl !== undefined) {
    return openPostgres(settings.databaseUrl, redactUrl(settings.databaseUrl), {
      poolSize: settings.databasePoolSize ?? 10,
      connectTimeoutMs: settings.databaseConnectTimeoutMs ?? 10_000,
      onLostConnection,
    });
  }
  await mkdir(settings.dataDir, { recursive: true });
  return openSqlite(sqlitePath(settings.dataDir));
}

/**
 * Opens the configured database and applies the migrations it lacks. A PostgreSQL server that
 * cannot be reached, or refuses the role, password or database, is a StartError that names
 * FOTA_DATABASE_URL (without its password).
 */
export async function openDatabase(
  settings: DatabaseSettings,
  onLostConnection?: (error: Error) => void,
): Promise<Database & { applied: string[] }> {
  const database = await connectDatabase(settings, onLostConnection);
  try {
    return { ...database, applied: await migrate(database) };
  } catch (error) {
    await database.db.destroy();
    throw settings.databaseUrl === undefined ? error : startErrorOf(error, database.location);
  }
}

/** SQLSTATE classes of a server that refuses us: authorization (28), no such database (3D). */
const REFUSED = /^(28|3D)/;

function startErrorOf(error: unknown, location: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (isDomainError(error, 'unavailable') || (typeof code === 'string' && REFUSED.test(code))) {
    const reason = isDomainError(error) ? error.message : (error as Error).message;
    return new StartError(
      `cannot use the PostgreSQL database at ${location} (FOTA_DATABASE_URL): ${reason.replace(/^the database is unavailable: /, '')}`,
    );
  }
  return error;
}
