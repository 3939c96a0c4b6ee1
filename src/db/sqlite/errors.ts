import { DomainError } from '../../domain/errors.js';

/** Translates SQLite errors into domain errors; anything else goes through unchanged. */
export function translateSqliteError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new DomainError('duplicate', 'a row with this key exists already', { cause: error });
  }
  // Extended codes too: SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE, …
  if (/^SQLITE_(BUSY|FULL|IOERR)(_|$)/.test(code)) {
    return new DomainError('unavailable', `the database is unavailable (${code})`, { cause: error });
  }
  return error;
}
