import { pushStatuses } from '../contract/http-client.js';

/** Readable output of the API commands: aligned tables and labelled summaries, ids first. */

/** Text from the server made safe for a terminal: control characters (escape sequences) become spaces. */
// eslint-disable-next-line no-control-regex
export const printable = (text: string): string => text.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ');

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = [headers, ...rows].map((row) => row.map(printable));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const lines = cells.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

/** `label  value` lines, indented, labels aligned. */
export function summary(pairs: ReadonlyArray<readonly [label: string, value: string]>): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `  ${label.padEnd(width)}  ${printable(value)}\n`).join('');
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** An ISO time without its milliseconds: 2024-05-01T10:32:11Z. */
export const formatTime = (iso: string): string => iso.replace(/\.\d+Z$/, 'Z');

/**
 * `sent 1, offline 1`: the counts the server answered for a push, the statuses some target has,
 * in the order of a push's life as the contract lists them.
 */
export const countsText = (counts: Readonly<Record<string, number>>): string =>
  pushStatuses
    .filter((status) => (counts[status] ?? 0) > 0)
    .map((status) => `${status} ${counts[status]}`)
    .join(', ') || 'none';

/** A push's status as the server answered it, in words: `in_progress` → `in progress`. */
export const statusText = (status: string): string => status.replace(/_/g, ' ');

/** Writes to stdout. */
export const print = (text: string): void => {
  process.stdout.write(text);
};
