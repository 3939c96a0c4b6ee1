import type { ErrorCode } from '../domain/errors.js';

/** The HTTP status for each domain error code: the HTTP adapters' own table. */
export const httpStatusOf: Record<ErrorCode, number> = {
  invalid_input: 400,
  checksum_mismatch: 400,
  empty_file: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  duplicate: 409,
  version_not_higher: 409,
  in_use: 409,
  not_configured: 409,
  bad_signature: 400,
  too_large: 413,
  unavailable: 503,
};
