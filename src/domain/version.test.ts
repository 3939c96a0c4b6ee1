import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareVersionPrecedence,
  compareVersions,
  isHigherVersion,
  parseOrderedVersion,
  versionTextProblem,
} from './version.js';

const sign = (n: number): number => (n === 0 ? 0 : n < 0 ? -1 : 1);
const thirtyDigits = '1' + '0'.repeat(29);
const thirtyNines = '9'.repeat(30);

/** [lower, higher]: `lower` has strictly lower precedence than `higher`. */
const lowerThan: [string, string][] = [
  // numeric parts compare as numbers, not as text
  ['1.9', '1.10'],
  ['1.2', '1.10'],
  ['9', '10'],
  ['1.99.99', '2'],
  ['0.9', '0.10'],
  ['0.1', '0.10'],
  ['0.01', '0.2'],
  ['1.0', '1.0.1'],
  ['1', '1.0.0.1'],
  ['v1', '1.0.1'],
  ['v1.9', 'V1.10'],
  // semver §11 example chain
  ['1.0.0-alpha', '1.0.0-alpha.1'],
  ['1.0.0-alpha.1', '1.0.0-alpha.beta'],
  ['1.0.0-alpha.beta', '1.0.0-beta'],
  ['1.0.0-beta', '1.0.0-beta.2'],
  ['1.0.0-beta.2', '1.0.0-beta.11'],
  ['1.0.0-beta.11', '1.0.0-rc.1'],
  ['1.0.0-rc.1', '1.0.0'],
  // more pre-release rules
  ['1.0.0-1', '1.0.0-alpha'],
  ['1.0.0-2', '1.0.0-10'],
  ['1.0.0-alpha.9', '1.0.0-alpha.a'],
  ['1.0.0-Beta', '1.0.0-alpha'],
  ['1.0.0-alpha', '1.0.0-alpha.0'],
  ['1.0.0-alpha-1', '1.0.0-alpha-2'],
  ['0.9.9', '1.0.0-alpha'],
  ['1.0.0', '1.0.1-alpha'],
  ['1-rc.1', '1.0.0'],
  // build metadata does not lift a version
  ['1.0.0+999', '1.0.1'],
  ['1.0.0-rc.1+build.5', '1.0.0+build.1'],
  // huge numeric parts are compared exactly
  [thirtyDigits, thirtyNines],
  [thirtyNines, '1' + '0'.repeat(30)],
  [`1.${thirtyDigits}`, `1.${thirtyNines}`],
  ['9007199254740992', '9007199254740993'],
  [`1.0.0-${thirtyDigits}`, `1.0.0-${thirtyNines}`],
  // unordered versions sort after every ordered one, then in string order
  [thirtyNines, 'abc'],
  ['2.0', '1.0-final_x'],
  ['999', 'v'],
  ['1.0.0-rc.1', 'release'],
  ['1.0-final_x', 'abc'],
  ['abc', 'abd'],
  ['ABC', 'abc'],
  ['1..0', '1.0.'],
];

/** Pairs of different strings with equal precedence. */
const samePrecedence: [string, string][] = [
  ['v1', '1'],
  ['1', '1.0.0'],
  ['v1', '1.0.0'],
  ['V1.0', '1'],
  ['1.0', '1.0.0.0.0'],
  ['0.01', '0.1'],
  ['1.01', '1.1'],
  ['007', '7'],
  ['0', '0.0'],
  ['1.0.0+build.1', '1.0.0'],
  ['1.0.0+a', '1.0.0+b'],
  ['1.0.0-alpha+001', '1.0.0-alpha'],
  ['1-rc.1', 'v1.0.0-rc.1'],
  ['1.0.0-alpha.01', '1.0.0-alpha.1'],
  [`0${thirtyDigits}`, thirtyDigits],
];

const unordered = [
  'abc',
  '1.0-final_x',
  'v',
  'vv1',
  '-1',
  '.1',
  '1.',
  '1..0',
  '1.0.0-',
  '1.0.0+',
  '1.0.0-alpha..1',
  '1.0.0-al_pha',
  '1.0.0+build+2',
  '1,0',
  'release-2',
  '1.0a',
  'x1.0',
];

describe('compareVersions', () => {
  it.each(lowerThan)('%s < %s', (lower, higher) => {
    expect(sign(compareVersionPrecedence(lower, higher))).toBe(-1);
    expect(sign(compareVersionPrecedence(higher, lower))).toBe(1);
    expect(sign(compareVersions(lower, higher))).toBe(-1);
    expect(sign(compareVersions(higher, lower))).toBe(1);
  });

  it.each(samePrecedence)('%s has the precedence of %s, and the strings break the tie', (a, b) => {
    expect(compareVersionPrecedence(a, b)).toBe(0);
    expect(compareVersionPrecedence(b, a)).toBe(0);
    const textOrder = a < b ? -1 : 1;
    expect(sign(compareVersions(a, b))).toBe(textOrder);
    expect(sign(compareVersions(b, a))).toBe(-textOrder);
  });

  it.each(['1', '1.10', 'v2.0.0-rc.1+b', 'abc', thirtyNines])('%s equals itself', (version) => {
    expect(compareVersionPrecedence(version, version)).toBe(0);
    expect(compareVersions(version, version)).toBe(0);
  });

  it('sorts a mixed list into the documented order', () => {
    const expected = [
      '0.01',
      '0.1',
      '0.2',
      '0.10',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1',
      '1.0.0',
      '1.0.0+build.7',
      'v1',
      '1.9',
      '1.10',
      '2.0',
      thirtyDigits,
      '1.0-final_x',
      'abc',
      'beta',
    ];
    const shuffled = [...expected].reverse();
    shuffled.push(...shuffled.splice(0, 7));
    expect(shuffled.sort(compareVersions)).toEqual(expected);
  });
});

describe('parseOrderedVersion', () => {
  it.each<[string, string[], string[]]>([
    ['1', ['1'], []],
    ['v1.0.0', ['1'], []],
    ['V01.002.0', ['1', '2'], []],
    ['0.0.0', ['0'], []],
    ['1.0.3', ['1', '0', '3'], []],
    ['1.0.0-rc.1+build.5', ['1'], ['rc', '1']],
    ['2-alpha-1.x', ['2'], ['alpha-1', 'x']],
    [thirtyNines, [thirtyNines], []],
  ])('%s reads as parts %j and pre-release %j', (version, parts, prerelease) => {
    expect(parseOrderedVersion(version)).toEqual({ parts, prerelease });
  });

  it.each(unordered)('%s is not an ordered version', (version) => {
    expect(parseOrderedVersion(version)).toBeUndefined();
  });

  it.each(unordered)('%s sorts after every ordered version', (version) => {
    for (const ordered of ['0', '1.0.0-alpha', thirtyNines, 'v99']) {
      expect(sign(compareVersions(ordered, version))).toBe(-1);
    }
  });
});

describe('versionTextProblem', () => {
  it.each<[string, string, RegExp | undefined]>([
    ['empty', '', /1 to 32 printable ASCII/],
    ['33 characters', 'a'.repeat(33), /1 to 32 printable ASCII/],
    ['a comma', '1,0', /comma/],
    ['a lone comma', ',', /comma/],
    ['a space', '1 0', /without whitespace/],
    ['a leading space', ' 1.0', /without whitespace/],
    ['a tab', '1\t0', /without whitespace/],
    ['a newline', '1.0\n', /without whitespace/],
    ['a NUL byte', '1.0\0', /printable ASCII/],
    ['DEL', '1.0\x7f', /printable ASCII/],
    ['non-ASCII', 'version-é', /printable ASCII/],
    ['an emoji', '1.0-🚀', /printable ASCII/],
    ['a non-breaking space', '1.0\u00a0', /printable ASCII/],
    ['32 characters', 'v'.repeat(32), undefined],
    ['32 characters of a real version', `1.0.0-rc.1+${'b'.repeat(21)}`, undefined],
    ['one character', '1', undefined],
    ['free text MCS saw', 'v1', undefined],
    ['0.01', '0.01', undefined],
    ['every printable symbol but comma', '!"#$%&\'()*+-./:;<=>?@[\\]^_`{|}~', undefined],
  ])('%s', (_label, version, problem) => {
    const found = versionTextProblem(version);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe('isHigherVersion', () => {
  it.each<[string, string, boolean]>([
    ['1.10', '1.9', true],
    ['1.9', '1.10', false],
    ['2', '1.99.99', true],
    ['1.0.0', '1.0.0-rc.1', true],
    ['1.0.0-rc.2', '1.0.0-rc.1', true],
    ['1.0.0-rc.1', '1.0.0', false],
    ['1.0', 'v1', false],
    ['v1', '1.0.0', false],
    ['1', '1', false],
    ['0.1', '0.01', false],
    ['0.10', '0.1', true],
    ['1.0.0+b', '1.0.0+a', false],
    [thirtyNines, thirtyDigits, true],
    ['abc', '1', false],
    ['2', 'abc', false],
    ['abd', 'abc', false],
  ])('%s above %s: %s', (candidate, current, expected) => {
    expect(isHigherVersion(candidate, current)).toBe(expected);
  });
});

/** Versions built from small pieces, so that equal parts and ties happen often. */
const versionArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      prefix: fc.constantFrom('', '', 'v', 'V'),
      parts: fc.array(fc.constantFrom('0', '00', '1', '01', '2', '9', '10', '11', thirtyDigits), {
        minLength: 1,
        maxLength: 4,
      }),
      prerelease: fc.array(fc.constantFrom('alpha', 'beta', 'rc', 'a-b', '0', '1', '2', '10', '01'), {
        maxLength: 3,
      }),
      build: fc.constantFrom('', '', '+b', '+build.1'),
    })
    .map(
      ({ prefix, parts, prerelease, build }) =>
        `${prefix}${parts.join('.')}${prerelease.length > 0 ? `-${prerelease.join('.')}` : ''}${build}`,
    ),
  fc.constantFrom('abc', 'abd', '1.0-final_x', 'v', '1..0', 'release', 'Z', '~'),
  fc.stringMatching(/^[0-9a-c.v+-]{1,6}$/),
);

describe('compareVersions is a total order', () => {
  it('is reflexive and antisymmetric, and zero only for equal strings', () => {
    fc.assert(
      fc.property(versionArbitrary, versionArbitrary, (a, b) => {
        expect(compareVersions(a, a)).toBe(0);
        expect(sign(compareVersions(a, b)) + sign(compareVersions(b, a))).toBe(0);
        expect(compareVersions(a, b) === 0).toBe(a === b);
      }),
      { numRuns: 2000 },
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(versionArbitrary, versionArbitrary, versionArbitrary, (a, b, c) => {
        const [x, y, z] = [a, b, c].sort(compareVersions) as [string, string, string];
        expect(compareVersions(x, y)).toBeLessThanOrEqual(0);
        expect(compareVersions(y, z)).toBeLessThanOrEqual(0);
        expect(compareVersions(x, z)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('precedence is transitive too, so equal precedence is an equivalence', () => {
    fc.assert(
      fc.property(versionArbitrary, versionArbitrary, versionArbitrary, (a, b, c) => {
        const ab = sign(compareVersionPrecedence(a, b));
        const bc = sign(compareVersionPrecedence(b, c));
        const ac = sign(compareVersionPrecedence(a, c));
        if (ab <= 0 && bc <= 0) expect(ac).toBeLessThanOrEqual(0);
        if (ab === 0 && bc === 0) expect(ac).toBe(0);
        if (ab < 0 && bc <= 0) expect(ac).toBe(-1);
      }),
      { numRuns: 3000 },
    );
  });

  it('is consistent with sort: every pair of a sorted list is in order, whatever the input order', () => {
    fc.assert(
      fc.property(fc.array(versionArbitrary, { maxLength: 25 }), fc.nat(), (versions, seed) => {
        const sorted = [...versions].sort(compareVersions);
        for (let i = 0; i < sorted.length; i++) {
          for (let j = i + 1; j < sorted.length; j++) {
            expect(compareVersions(sorted[i]!, sorted[j]!)).toBeLessThanOrEqual(0);
          }
        }
        const rotated = versions.map((_, i) => versions[(i + seed) % versions.length]!);
        expect(rotated.reverse().sort(compareVersions)).toEqual(sorted);
      }),
      { numRuns: 500 },
    );
  });

  it('isHigherVersion is exactly "both ordered and higher precedence"', () => {
    fc.assert(
      fc.property(versionArbitrary, versionArbitrary, (a, b) => {
        const bothOrdered = parseOrderedVersion(a) !== undefined && parseOrderedVersion(b) !== undefined;
        expect(isHigherVersion(a, b)).toBe(bothOrdered && compareVersionPrecedence(a, b) > 0);
      }),
      { numRuns: 2000 },
    );
  });
});
