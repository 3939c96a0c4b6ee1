import { describe, expect, it } from 'vitest';
import { availableFirmwares, byVersion, isCompatible, type CurrentFirmware } from './compatibility.js';
import type { Firmware, Prerequisites, VersionPolicy } from './model.js';

let created = 0;
function firmware(id: string, version: string, prerequisites: Prerequisites = 'all'): Firmware {
  return {
    id,
    prototypeId: 'PAAAAAAAAAAA',
    name: `firmware ${version}`,
    version,
    releaseNote: '',
    fileName: 'a.bin',
    size: 1,
    md5: '0'.repeat(32),
    sha256: '0'.repeat(64),
    prerequisites,
    createdAt: new Date(Date.UTC(2024, 0, 1) + created++ * 1000),
  };
}

/**
 * A prototype's history, uploaded in this order:
 * A 1.0 (all), B 1.1 (from A), C 2.0 (from A or B), D 1.5 (all), E 0.9 (from D), F beta (from B).
 */
const A = firmware('FA0000000000', '1.0');
const B = firmware('FB0000000000', '1.1', [A.id]);
const C = firmware('FC0000000000', '2.0', [A.id, B.id]);
const D = firmware('FD0000000000', '1.5');
const E = firmware('FE0000000000', '0.9', [D.id]);
const F = firmware('FF0000000000', 'beta', [B.id]);
const all = [A, B, C, D, E, F];
const ids = (list: readonly Firmware[]): string[] => list.map((item) => item.id);

const neverReported: CurrentFirmware = { firmwareId: undefined, version: undefined };
const running = (item: Firmware): CurrentFirmware => ({ firmwareId: item.id, version: item.version });

describe('availableFirmwares', () => {
  it.each<[string, CurrentFirmware, VersionPolicy, Firmware[]]>([
    ['never reported: only firmwares for all', neverReported, 'any', [A, D]],
    ['never reported, increasing: still only firmwares for all', neverReported, 'increasing', [A, D]],
    ['runs A: all-firmwares and those listing A, minus A', running(A), 'any', [B, D, C]],
    ['runs B: all-firmwares and those listing B', running(B), 'any', [A, D, C, F]],
    ['runs B, increasing: only higher versions, no unordered one', running(B), 'increasing', [D, C]],
    ['runs C: nothing lists C, so all-firmwares', running(C), 'any', [A, D]],
    ['runs C, increasing: nothing is higher than 2.0', running(C), 'increasing', []],
    ['runs D: all-firmwares and E', running(D), 'any', [E, A]],
    ['runs D, increasing: E 0.9 is lower', running(D), 'increasing', []],
    ['runs E, increasing: higher ones for all', running(E), 'increasing', [A, D]],
    ['runs F (unordered), any', running(F), 'any', [A, D]],
    ['runs F (unordered), increasing: nothing is higher than an unordered version', running(F), 'increasing', []],
    [
      'runs a deleted firmware 1.1: only all-firmwares, lists cannot name it',
      { firmwareId: undefined, version: '1.1' },
      'any',
      [A, D],
    ],
    [
      'runs a deleted firmware 1.1, increasing: only higher all-firmwares',
      { firmwareId: undefined, version: '1.1' },
      'increasing',
      [D],
    ],
    [
      'runs a deleted firmware whose version was re-used: that version is not offered again',
      { firmwareId: undefined, version: '1.5' },
      'any',
      [A],
    ],
    ['runs a firmware id unknown here', { firmwareId: 'FZ0000000000', version: '7' }, 'any', [A, D]],
  ])('%s', (_label, current, policy, expected) => {
    expect(ids(availableFirmwares(all, current, policy))).toEqual(ids(expected));
  });

  it('sorts by version, not by upload order or id', () => {
    const list = [
      firmware('F10000000000', '1.10'),
      firmware('F20000000000', 'v1.9'),
      firmware('F30000000000', 'zeta'),
      firmware('F40000000000', '1.0.0-rc.1'),
      firmware('F50000000000', '0.01'),
    ];
    expect(availableFirmwares(list, neverReported, 'any').map((item) => item.version)).toEqual([
      '0.01',
      '1.0.0-rc.1',
      'v1.9',
      '1.10',
      'zeta',
    ]);
  });

  it('does not change the list it is given', () => {
    const list = [C, A, D];
    availableFirmwares(list, neverReported, 'any');
    expect(list).toEqual([C, A, D]);
  });
});

describe('isCompatible', () => {
  it.each<[string, Firmware, CurrentFirmware, VersionPolicy, boolean]>([
    ['the current firmware itself', B, running(B), 'any', false],
    ['a firmware with the current version', firmware('FX0000000000', '1.1'), running(B), 'any', false],
    ['an empty prerequisite list', firmware('FY0000000000', '3', []), running(B), 'any', false],
    ['a list naming the current firmware', C, running(B), 'increasing', true],
    [
      'a list naming it, but the same precedence',
      firmware('FW0000000000', '1.1.0', [B.id]),
      running(B),
      'increasing',
      false,
    ],
    [
      'a list naming it, same precedence, any policy',
      firmware('FW0000000000', '1.1.0', [B.id]),
      running(B),
      'any',
      true,
    ],
  ])('%s: %s', (_label, candidate, current, policy, expected) => {
    expect(isCompatible(candidate, current, policy)).toBe(expected);
  });
});

describe('byVersion', () => {
  it.each<[string, string, number]>([
    ['1.9', '1.10', -1],
    ['1.10', '1.9', 1],
    ['abc', '1', 1],
    ['1', '1', 0],
  ])('%s against %s', (a, b, expected) => {
    expect(Math.sign(byVersion(firmware('F1', a), firmware('F2', b)))).toBe(expected);
  });
});
