import { describe, expect, it } from 'vitest';
import { isDomainError } from './errors.js';
import { limits, requireText } from './text.js';

const small = { min: 1, max: 5 };

describe('requireText', () => {
  it.each<[string, unknown, { min: number; max: number }, string]>([
    ['a plain value', 'abc', small, 'abc'],
    ['trimmed', '  abc \n', small, 'abc'],
    ['exactly the maximum', 'abcde', small, 'abcde'],
    ['the maximum once trimmed', '  abcde  ', small, 'abcde'],
    ['empty when allowed', '', limits.description, ''],
    ['spaces when empty is allowed', '   ', limits.releaseNote, ''],
    ['inner tab, newline and CR kept', 'a\tb\nc\r\nd', limits.releaseNote, 'a\tb\nc\r\nd'],
    ['non-ASCII', 'Žluťoučký kůň', limits.name, 'Žluťoučký kůň'],
    ['a 100-character name', 'n'.repeat(100), limits.name, 'n'.repeat(100)],
  ])('accepts %s', (_label, value, fieldLimits, expected) => {
    expect(requireText('field', value, fieldLimits)).toBe(expected);
  });

  it.each<[string, unknown, { min: number; max: number }, string]>([
    ['a number', 5, small, 'field must be a string'],
    ['null', null, small, 'field must be a string'],
    ['undefined', undefined, small, 'field must be a string'],
    ['an array', ['a'], small, 'field must be a string'],
    ['empty when required', '', small, 'field is required'],
    ['only spaces when required', '  \t ', small, 'field is required'],
    ['too short for a minimum of 3', 'ab', { min: 3, max: 10 }, 'field needs at least 3 characters'],
    ['one over the maximum', 'abcdef', small, 'field must be at most 5 characters'],
    ['a 101-character name', 'n'.repeat(101), limits.name, 'field must be at most 100 characters'],
    ['a NUL byte', 'a\0b', small, 'field must not contain control characters'],
    ['an escape', 'a\x1bb', small, 'field must not contain control characters'],
    ['a vertical tab', 'a\x0bb', small, 'field must not contain control characters'],
    ['a form feed', 'a\x0cb', small, 'field must not contain control characters'],
    ['DEL', 'a\x7fb', small, 'field must not contain control characters'],
  ])('refuses %s', (_label, value, fieldLimits, message) => {
    let caught: unknown;
    try {
      requireText('field', value, fieldLimits);
    } catch (error) {
      caught = error;
    }
    expect(isDomainError(caught, 'invalid_input')).toBe(true);
    expect((caught as Error).message).toBe(message);
  });
});
