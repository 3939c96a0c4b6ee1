/**
 * The one place that reads the environment, and the checks every area of the configuration
 * shares: each reads one variable (unset or empty: its default), records a problem that names it
 * when its value is refused, and returns the value. A refused value never leaves `loadConfig`:
 * with any problem recorded it throws a `ConfigError` that lists them all.
 */
export interface Reader {
  /** The problems recorded so far, in the order they were found. */
  readonly problems: string[];
  /** Records a problem that no reader below states. */
  problem(text: string): void;
  /** The text of a variable, or `fallback` when it is unset or empty. */
  text(name: string, fallback: string): string;
  /** A whole number of digits from `min` to `max`; refused with `refusal(text)` when given. */
  integer(name: string, fallback: string, min: number, max: number, refusal?: (text: string) => string): number;
  port(name: string, fallback: string): number;
  /** Seconds as milliseconds: a decimal number above 0 and at most a year. */
  seconds(name: string, fallback: string): number;
  /** Seconds as milliseconds: a decimal number from 0 to `max`, refused with `refusal(text)`. */
  secondsUpTo(name: string, fallback: string, max: number, refusal: (text: string) => string): number;
  /** true, 1 or yes / false, 0 or no (any case; only true or false when `strict`); undefined: refused. */
  flag(name: string, fallback: string, strict?: 'strict'): boolean | undefined;
  /** One of `choices`; refused with `refusal(text)`, by default `NAME must be a, b or c, not "text"`. */
  choice<T extends string>(name: string, fallback: T, choices: readonly T[], refusal?: (text: string) => string): T;
}

const YES = ['true', '1', 'yes'];
const NO = ['false', '0', 'no'];
const YEAR_S = 365 * 24 * 3600;

export function createReader(env: NodeJS.ProcessEnv): Reader {
  const problems: string[] = [];
  const text = (name: string, fallback: string): string => {
    const value = env[name];
    return value === undefined || value === '' ? fallback : value;
  };
  const integer: Reader['integer'] = (name, fallback, min, max, refusal) => {
    const given = text(name, fallback);
    const value = Number(given);
    if (!/^\d+$/.test(given) || value < min || value > max) {
      problems.push(refusal?.(given) ?? `${name} must be a whole number from ${min} to ${max}, not "${given}"`);
    }
    return value;
  };
  const decimalSeconds = (
    name: string,
    fallback: string,
    refused: (value: number) => boolean,
    refusal: (text: string) => string,
  ): number => {
    const given = text(name, fallback);
    const value = Number(given);
    if (!/^\d+(\.\d+)?$/.test(given) || refused(value)) problems.push(refusal(given));
    return Math.round(value * 1000);
  };
  return {
    problems,
    problem: (problem) => void problems.push(problem),
    text,
    integer,
    port: (name, fallback) =>
      integer(name, fallback, 0, 65535, (given) => `${name} must be a port number from 0 to 65535, not "${given}"`),
    seconds: (name, fallback) =>
      decimalSeconds(
        name,
        fallback,
        (value) => value <= 0 || value > YEAR_S,
        (given) => `${name} must be a number of seconds above 0 and at most a year, not "${given}"`,
      ),
    secondsUpTo: (name, fallback, max, refusal) => decimalSeconds(name, fallback, (value) => value > max, refusal),
    flag: (name, fallback, strict) => {
      const given = text(name, fallback).toLowerCase();
      const [yes, no] = strict === undefined ? [YES, NO] : [['true'], ['false']];
      if (yes.includes(given)) return true;
      if (no.includes(given)) return false;
      problems.push(`${name} must be true or false, not "${given}"`);
      return undefined;
    },
    choice: <T extends string>(
      name: string,
      fallback: T,
      choices: readonly T[],
      refusal?: (text: string) => string,
    ) => {
      const given = text(name, fallback);
      if (!choices.includes(given as T)) {
        problems.push(refusal?.(given) ?? `${name} must be ${orList(choices)}, not "${given}"`);
      }
      return given as T;
    },
  };
}

/** `a, b or c`. */
function orList(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** An absolute http:// or https:// URL without credentials. */
export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/**
 * An optional http:// or https:// URL without credentials (and without a query or fragment when
 * `noQuery`), without its trailing slashes; undefined when unset (or refused).
 */
export function readHttpUrl(reader: Reader, name: string, noQuery?: 'no query'): string | undefined {
  const given = reader.text(name, '');
  if (given === '') return undefined;
  const url = given.replace(/\/+$/, '');
  if (isHttpUrl(url) && (noQuery === undefined || !/[?#]/.test(url))) return url;
  const kind = noQuery === undefined ? 'URL' : 'URL without a query';
  reader.problem(`${name} must be an http:// or https:// ${kind}, not "${given}"`);
  return undefined;
}
