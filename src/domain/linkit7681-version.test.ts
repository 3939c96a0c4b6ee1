import { describe, expect, it } from 'vitest';
import { boardVersion, requireBoardVersion, versionOfBoard } from './linkit7681-version.js';
import { isHigherVersion } from './version.js';

describe('LinkIt 7681 versions', () => {
  it.each([
    ['1.60', { major: 1, minor: 60 }],
    ['0.0', { major: 0, minor: 0 }],
    ['255.255', { major: 255, minor: 255 }],
  ])('%s maps to the bytes %j and back', (version, bytes) => {
    expect(boardVersion(version)).toEqual(bytes);
    expect(versionOfBoard(bytes)).toBe(version);
  });

  it.each(['1', '1.2.3', '01.2', '1.02', '256.1', '1.256', 'v1.2', '1.2-rc', ''])('refuses %j', (version) => {
    expect(boardVersion(version)).toBeUndefined();
    expect(() => requireBoardVersion(version)).toThrow(/major\.minor/);
  });

  it("orders as the board compares its bytes: 1.7 is lower than the factory's 1.60", () => {
    expect(isHigherVersion('1.7', '1.60')).toBe(false);
    expect(isHigherVersion('1.61', '1.60')).toBe(true);
    expect(isHigherVersion('2.0', '1.255')).toBe(true);
  });
});
