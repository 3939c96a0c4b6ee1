import { invalid } from './errors.js';

/** Checks a free-text field and returns it trimmed. */
export function requireText(field: string, value: unknown, limits: { min: number; max: number }): string {
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  const trimmed = value.trim();
  if (trimmed.length < limits.min) {
    throw invalid(limits.min === 1 ? `${field} is required` : `${field} needs at least ${limits.min} characters`);
  }
  if (trimmed.length > limits.max) throw invalid(`${field} must be at most ${limits.max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(trimmed)) throw invalid(`${field} must not contain control characters`);
  return trimmed;
}

export const limits = {
  name: { min: 1, max: 100 },
  description: { min: 0, max: 2000 },
  releaseNote: { min: 0, max: 10000 },
} as const;
