import { describe, expect, it } from 'vitest';
import { isDomainError } from './errors.js';
import type { Prerequisites } from './model.js';
import { parsePrerequisites } from './prerequisites.js';

const A = 'FAa6B540CMmJ';
const B = 'FBbbbbbbbbb1';

describe('parsePrerequisites', () => {
  it.each<[string, Prerequisites]>([
    ['all', 'all'],
    ['ALL', 'all'],
    ['  All  ', 'all'],
    ['', 'all'],
    ['   ', 'all'],
    [A, [A]],
    [`${A},${B}`, [A, B]],
    [` ${A} , ${B} `, [A, B]],
    [`${B},${A}`, [B, A]],
    [`${A},${A},${B},${A}`, [A, B]],
  ])('%j reads as %j', (text, expected) => {
    expect(parsePrerequisites(text)).toEqual(expected);
  });

  it.each<[string, string]>([
    [`${A},`, '""'],
    [`${A},,${B}`, '""'],
    ['all,' + A, '"all"'],
    ['PAbcdefghij1', '"PAbcdefghij1"'],
    [`${A} ${B}`, `"${A} ${B}"`],
    [`${A};${B}`, `"${A};${B}"`],
    ['FAa6B540CMm', '"FAa6B540CMm"'],
    ['none', '"none"'],
  ])('%j is refused, naming %s', (text, named) => {
    let caught: unknown;
    try {
      parsePrerequisites(text);
    } catch (error) {
      caught = error;
    }
    expect(isDomainError(caught, 'invalid_input')).toBe(true);
    expect((caught as Error).message).toContain(`${named} is not a firmware id`);
  });
});
