/**
 * The catalogue of domain errors. Codes carry no transport meaning: each adapter
 * (management HTTP, MCS HTTP, and later TCP and MQTT) owns its own table from code to reply.
 */
export type ErrorCode =
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'duplicate'
  | 'version_not_higher'
  | 'checksum_mismatch'
  | 'empty_file'
  | 'too_large'
  | 'in_use'
  | 'unavailable'
  /** A feature needs a setting the server was started without (signing keys: FOTA_SIGNING_KEK). */
  | 'not_configured'
  /** A signature that does not verify with the key it names. */
  | 'bad_signature';

export class DomainError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DomainError';
    this.code = code;
  }
}

export const invalid = (message: string): DomainError => new DomainError('invalid_input', message);
export const notFound = (message: string): DomainError => new DomainError('not_found', message);

export function isDomainError(error: unknown, code?: ErrorCode): error is DomainError {
  return error instanceof DomainError && (code === undefined || error.code === code);
}
