import { resolve } from 'node:path';

/** One command-line flag of a bench: its kind decides what it takes and how it is checked. */
export type Flag =
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  | { readonly kind: 'switch' }
  | { readonly kind: 'choice'; readonly values: readonly string[] }
  | { readonly kind: 'folder' };

export type FlagValue = number | boolean | string;

/**
 * Reads `args` against `flags` (each `--name` to its kind). Answers the values given, by flag name
 * without the dashes; `--help` or `-h` prints `usage` and exits; a bad value or an unknown flag
 * throws an error that ends with `usage`.
 */
export function readFlags(
  args: readonly string[],
  flags: Readonly<Record<string, Flag>>,
  usage: string,
): Map<string, FlagValue> {
  const values = new Map<string, FlagValue>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    const flag = arg.startsWith('--') ? flags[arg.slice(2)] : undefined;
    if (!flag) throw new Error(`unknown option ${arg}\n${usage}`);
    if (flag.kind === 'switch') {
      values.set(arg.slice(2), true);
      continue;
    }
    const text = args[++i];
    values.set(arg.slice(2), valueOf(arg, flag, text, usage));
  }
  return values;
}

function valueOf(arg: string, flag: Exclude<Flag, { kind: 'switch' }>, text: string | undefined, usage: string) {
  switch (flag.kind) {
    case 'integer': {
      const value = Number(text);
      if (text === undefined || !/^\d+$/.test(text) || value < flag.min || value > flag.max) {
        throw new Error(`${arg} needs a whole number from ${flag.min} to ${flag.max}\n${usage}`);
      }
      return value;
    }
    case 'choice':
      if (text === undefined || !flag.values.includes(text)) {
        throw new Error(`${arg} is ${flag.values.join(' or ')}\n${usage}`);
      }
      return text;
    case 'folder':
      if (text === undefined || text.startsWith('--')) throw new Error(`${arg} needs a folder\n${usage}`);
      return resolve(text);
  }
}

export const integer = (min: number, max: number): Flag => ({ kind: 'integer', min, max });
export const choice = (...values: string[]): Flag => ({ kind: 'choice', values });
export const SWITCH: Flag = { kind: 'switch' };
export const FOLDER: Flag = { kind: 'folder' };
