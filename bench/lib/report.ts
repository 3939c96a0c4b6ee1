/** Plain-text tables and number formats for the bench output (Markdown tables, so they paste as is). */

export const MiB = 1024 * 1024;

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((width, i) => (i === 0 ? '-'.repeat(width) : `${'-'.repeat(width - 1)}:`)).join(' | ')} |`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

export const fixed = (value: number, digits = 1): string => value.toFixed(digits);
export const ratio = (value: number): string => `${value.toFixed(2)}×`;
export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
export const seconds = (value: number): string => `${value.toFixed(2)} s`;

const benchStart = Date.now();

/** A progress line on stderr, so stdout keeps only the results. */
export function progress(message: string): void {
  process.stderr.write(`[${((Date.now() - benchStart) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
}
