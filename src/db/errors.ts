import { DomainError, isDomainError } from '../domain/errors.js';

/**
 * Each dialect folder's driver turns its engine's errors into DomainErrors ('duplicate',
 * 'unavailable') on every query; a repository only words the duplicate for what it stores.
 */
export function duplicateAs(error: unknown, message: string): unknown {
  return isDomainError(error, 'duplicate') ? new DomainError('duplicate', message, { cause: error }) : error;
}
