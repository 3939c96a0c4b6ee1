import { describe, expect, it } from 'vitest';
import {
  idShapes,
  isDeviceId,
  isDeviceKey,
  isFirmwareId,
  isPrototypeId,
  newDeviceId,
  newDeviceKey,
  newFirmwareId,
  newPrototypeId,
  randomAlphanumeric,
} from './ids.js';

const generators = [
  { kind: 'prototype', make: newPrototypeId, is: isPrototypeId, shape: idShapes.prototype, length: 12, first: 'P' },
  { kind: 'device', make: newDeviceId, is: isDeviceId, shape: idShapes.device, length: 8, first: 'D' },
  { kind: 'firmware', make: newFirmwareId, is: isFirmwareId, shape: idShapes.firmware, length: 12, first: 'F' },
  { kind: 'device key', make: newDeviceKey, is: isDeviceKey, shape: idShapes.deviceKey, length: 16, first: '' },
] as const;

describe.each(generators)('$kind ids', ({ make, is, shape, length, first }) => {
  const sample = Array.from({ length: 1000 }, make);

  it(`are ${length} letters and digits${first ? `, starting with ${first}` : ''}`, () => {
    for (const id of sample) {
      expect(id).toHaveLength(length);
      expect(id.startsWith(first)).toBe(true);
      expect(id).toMatch(/^[A-Za-z0-9]+$/);
      expect(id).toMatch(shape);
      expect(is(id)).toBe(true);
    }
  });

  it('are distinct over 1000 draws', () => {
    expect(new Set(sample).size).toBe(sample.length);
  });
});

describe('id shape checks', () => {
  it.each<[string, (value: string) => boolean, string, boolean]>([
    ['prototype', isPrototypeId, 'PAbcdefghij1', true],
    ['prototype', isPrototypeId, 'P9MxxxxxxbTK', true],
    ['prototype', isPrototypeId, 'pAbcdefghij1', false],
    ['prototype', isPrototypeId, 'PAbcdefghij', false],
    ['prototype', isPrototypeId, 'PAbcdefghij12', false],
    ['prototype', isPrototypeId, 'PAbcdefghi-1', false],
    ['prototype', isPrototypeId, 'FAa6B540CMmJ', false],
    ['device', isDeviceId, 'Dbxxxx9k', true],
    ['device', isDeviceId, 'Dbxxxx9', false],
    ['device', isDeviceId, 'Dbxxxx9kk', false],
    ['device', isDeviceId, 'dbxxxx9k', false],
    ['device', isDeviceId, 'Dbxx xx9', false],
    ['firmware', isFirmwareId, 'FAa6B540CMmJ', true],
    ['firmware', isFirmwareId, 'FAa6B540CMm', false],
    ['firmware', isFirmwareId, 'FAa6B540CMmJ\n', false],
    ['firmware', isFirmwareId, 'FAa6B540CMmé', false],
    ['device key', isDeviceKey, 'TPJVxxxxxxxxBxBv', true],
    ['device key', isDeviceKey, 'TPJVxxxxxxxxBxB', false],
    ['device key', isDeviceKey, 'TPJVxxxxxxxxBxBvv', false],
    ['device key', isDeviceKey, 'TPJVxxxxxxxxBxB_', false],
    ['device key', isDeviceKey, '', false],
  ])('%s %j: %s', (_kind, check, value, expected) => {
    expect(check(value)).toBe(expected);
  });
});

describe('randomAlphanumeric', () => {
  it.each([0, 1, 7, 62, 500])('gives exactly %i characters', (length) => {
    expect(randomAlphanumeric(length)).toMatch(new RegExp(`^[A-Za-z0-9]{${length}}$`));
  });

  it('uses every letter and digit, none of them overwhelmingly often', () => {
    const counts = new Map<string, number>();
    for (const c of randomAlphanumeric(62 * 500)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // The expected count is 500 for each; a fair draw stays far inside these bounds.
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(300);
      expect(count).toBeLessThan(700);
    }
  });
});
