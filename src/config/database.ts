import type { Reader } from './readers.js';

/** SQLite in the data folder, or PostgreSQL. */
export interface DatabaseConfig {
  /** A `postgres://` URL: PostgreSQL instead of the SQLite file in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Connections to PostgreSQL one process holds at most. */
  readonly databasePoolSize: number;
  /** How long getting a connection to PostgreSQL may take. */
  readonly databaseConnectTimeoutMs: number;
}

export const databaseVariables = [
  [
    'FOTA_DATABASE_URL',
    '(unset: SQLite)',
    'postgres://user:password@host:5432/database to keep the data in PostgreSQL instead of the SQLite file in FOTA_DATA_DIR',
  ],
  ['FOTA_DATABASE_POOL_SIZE', '10', 'connections to PostgreSQL one process holds at most'],
  [
    'FOTA_DATABASE_CONNECT_TIMEOUT_S',
    '10',
    'seconds getting a connection to PostgreSQL may take before the request fails (503) or the start fails',
  ],
] as const;

export function readDatabase(reader: Reader): DatabaseConfig {
  const databaseUrl = reader.text('FOTA_DATABASE_URL', '') || undefined;
  if (databaseUrl !== undefined) checkDatabaseUrl(databaseUrl, reader);
  return {
    databaseUrl,
    databasePoolSize: reader.integer('FOTA_DATABASE_POOL_SIZE', '10', 1, 10_000),
    databaseConnectTimeoutMs: reader.seconds('FOTA_DATABASE_CONNECT_TIMEOUT_S', '10'),
  };
}

/** A PostgreSQL URL; the problem never shows the password. */
function checkDatabaseUrl(text: string, reader: Reader): void {
  const form = 'postgres://user:password@host:5432/database';
  let url: URL;
  try {
    // Without `//` there is no user part to hide a password in: such a text is not shown at all.
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new Error('not a URL with a host');
    url = new URL(text);
  } catch {
    reader.problem(`FOTA_DATABASE_URL must be a URL of the form ${form}`);
    return;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    reader.problem(`FOTA_DATABASE_URL must be a URL of the form ${form}, not "${redactUrl(text)}"`);
  }
}

/** A database URL as it may be shown: without its password (in the user part or the query). */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '(not a URL)';
  }
  if (url.password !== '') url.password = '***';
  if (url.searchParams.has('password')) url.searchParams.set('password', '***');
  return url.toString();
}
