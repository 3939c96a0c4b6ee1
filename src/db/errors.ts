import { DomainError } from '../domain/errors.js';

/** Translates SQLite errors into domain errors; anything else goes through unchanged. */
export function translateSqliteError(error: unknown, duplicateMessage: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new DomainError('duplicate', duplicateMessage);
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_FULL' || code === 'SQLITE_IOERR') {
    return new DomainError('unavailable', `the database is unavailable (${String(code)})`);
  }
  return error;
}
