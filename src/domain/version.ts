/**
 * Firmware versions are free-form strings (MCS saw `1`, `2.0`, `0.01`, `v1`). This module gives them
 * one documented order, used to sort firmware lists and to enforce the `increasing` version policy:
 *
 * - A version is *ordered* when it reads `[v]N(.N)*[-pre][+build]`: an optional leading `v` or `V`,
 *   dot-separated decimal parts, an optional semver pre-release and build metadata.
 * - Numeric parts compare as numbers of any length (`1.9 < 1.10`, `0.01 = 0.1`); missing parts count
 *   as zero (`1 = 1.0 = 1.0.0`).
 * - With equal parts, a pre-release is lower than the release (`1.0.0-rc.1 < 1.0.0`), and two
 *   pre-releases compare identifier by identifier as semver says: numeric identifiers numerically
 *   and below alphanumeric ones, alphanumeric ones in ASCII order, a shorter list first.
 * - Build metadata is ignored for order.
 * - Versions that are not ordered sort after all ordered ones, in plain string order; the
 *   `increasing` policy refuses them.
 */

const VERSION_TEXT = /^[\x21-\x7e]{1,32}$/;
const ORDERED =
  /^[vV]?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export interface OrderedVersion {
  /** Numeric parts without leading zeros, as digit strings so any length compares exactly. */
  readonly parts: readonly string[];
  readonly prerelease: readonly string[];
}

/** Why a version string cannot be used, or undefined when it can. */
export function versionTextProblem(version: string): string | undefined {
  if (!VERSION_TEXT.test(version)) {
    return 'version must be 1 to 32 printable ASCII characters without whitespace';
  }
  if (version.includes(',')) return 'version must not contain a comma';
  return undefined;
}

/** Parsed versions, since sorting parses each version many times; bounded, cleared when full. */
const parsed = new Map<string, OrderedVersion | null>();
const PARSED_LIMIT = 10_000;

export function parseOrderedVersion(version: string): OrderedVersion | undefined {
  let result = parsed.get(version);
  if (result === undefined) {
    result = parseUncached(version) ?? null;
    if (parsed.size >= PARSED_LIMIT) parsed.clear();
    parsed.set(version, result);
  }
  return result ?? undefined;
}

function parseUncached(version: string): OrderedVersion | undefined {
  const match = ORDERED.exec(version);
  if (!match) return undefined;
  const parts = match[1]!.split('.').map(stripLeadingZeros);
  while (parts.length > 1 && parts[parts.length - 1] === '0') parts.pop();
  return { parts, prerelease: match[2] ? match[2].split('.') : [] };
}

function stripLeadingZeros(digits: string): string {
  const stripped = digits.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}

function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const NUMERIC = /^\d+$/;

function compareIdentifiers(a: string, b: string): number {
  const aNumeric = NUMERIC.test(a);
  const bNumeric = NUMERIC.test(b);
  if (aNumeric && bNumeric) return compareDigits(stripLeadingZeros(a), stripLeadingZeros(b));
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  return compareText(a, b);
}

function compareOrdered(a: OrderedVersion, b: OrderedVersion): number {
  const length = Math.max(a.parts.length, b.parts.length);
  for (let i = 0; i < length; i++) {
    const order = compareDigits(a.parts[i] ?? '0', b.parts[i] ?? '0');
    if (order !== 0) return order;
  }
  const aIsRelease = a.prerelease.length === 0;
  const bIsRelease = b.prerelease.length === 0;
  if (aIsRelease || bIsRelease) return aIsRelease === bIsRelease ? 0 : aIsRelease ? 1 : -1;
  const shared = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < shared; i++) {
    const order = compareIdentifiers(a.prerelease[i]!, b.prerelease[i]!);
    if (order !== 0) return order;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

/**
 * Precedence of two versions: negative, zero or positive. Zero means equal precedence
 * (`1.0` and `v1`), not equal strings.
 */
export function compareVersionPrecedence(a: string, b: string): number {
  const orderedA = parseOrderedVersion(a);
  const orderedB = parseOrderedVersion(b);
  if (orderedA && orderedB) return compareOrdered(orderedA, orderedB);
  if (orderedA) return -1;
  if (orderedB) return 1;
  return compareText(a, b);
}

/** A total order for sorting: precedence first, then the strings, so equal precedence is stable. */
export function compareVersions(a: string, b: string): number {
  return compareVersionPrecedence(a, b) || compareText(a, b);
}

/** True when `candidate` is strictly higher than `current`; both must be ordered versions. */
export function isHigherVersion(candidate: string, current: string): boolean {
  const a = parseOrderedVersion(candidate);
  const b = parseOrderedVersion(current);
  return a !== undefined && b !== undefined && compareOrdered(a, b) > 0;
}
