import { invalid } from './errors.js';

/**
 * A LinkIt Connect 7681 board stores its firmware version as two bytes, major and minor, and
 * compares them as numbers (new major higher, or the same major and a higher minor). Its version
 * text here is `major.minor`, both whole numbers from 0 to 255 written without leading zeros, the
 * text the board's reports turn into: `1.61` is (1, 61). The factory version is 1.60, so `1.7`
 * (1, 7) is lower than it; pick versions above 1.60 (1.61, 2.0).
 */
export interface BoardVersion {
  readonly major: number;
  readonly minor: number;
}

const BOARD_VERSION = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** The two bytes of a version, or undefined when it does not fit them. */
export function boardVersion(version: string): BoardVersion | undefined {
  const match = BOARD_VERSION.exec(version);
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major <= 255 && minor <= 255 ? { major, minor } : undefined;
}

/** The version text of what a board reports. */
export const versionOfBoard = (version: BoardVersion): string => `${version.major}.${version.minor}`;

/** Throws `invalid_input`, saying why, unless the version fits the board's two bytes. */
export function requireBoardVersion(version: string): BoardVersion {
  const fits = boardVersion(version);
  if (!fits) {
    throw invalid(
      `version ${version} does not fit a LinkIt 7681 board: it must be major.minor, both 0 to 255 without leading zeros (like 1.61; the factory version is 1.60)`,
    );
  }
  return fits;
}
