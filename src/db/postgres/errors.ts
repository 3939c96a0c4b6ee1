import { DomainError } from '../../domain/errors.js';

/** Socket errors on the way to the server. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** What `pg` throws, without a code, when a connection is lost or cannot be had in time. */
const CONNECTION_MESSAGES = /connection terminated|timeout exceeded when trying to connect|connection error/i;

/**
 * Translates PostgreSQL errors into domain errors: a unique violation (23505) is 'duplicate'; the
 * server shutting down (57P01-57P03), connection exceptions (08…), insufficient resources (53…:
 * too many connections, disk full) and a connection that cannot be had or is lost are
 * 'unavailable'. Anything else goes through unchanged.
 */
export function translatePostgresError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  // Node's AggregateError (every address refused) has an empty message and the code.
  const message = (error instanceof Error && error.message) || String(code ?? error);
  if (code === '23505') return new DomainError('duplicate', 'a row with this key exists already', { cause: error });
  const unavailable =
    typeof code === 'string'
      ? /^(57P0[123]|08|53)/.test(code) || CONNECTION_CODES.has(code)
      : error instanceof Error && CONNECTION_MESSAGES.test(message);
  if (unavailable) {
    return new DomainError('unavailable', `the database is unavailable: ${message}`, { cause: error });
  }
  return error;
}
