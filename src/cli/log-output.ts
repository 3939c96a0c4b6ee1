import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * Where `fota serve` writes: log lines and the token banner, to standard output, synchronously.
 *
 * Not pino's default destination: it writes asynchronously and flushes on exit with a loop that
 * retries every error, so once the reader of a pipe is gone (`npm start | tee log`, then Ctrl-C
 * ends tee too) each write fails with EPIPE, that flush retries forever and the process never
 * exits. Here a write that fails for good ends all writing, and nothing is left to flush.
 */
export interface ServeOutput {
  /** A pino destination: one JSON log line per call. */
  readonly stream: { write(line: string): void };
  /** Writes text as it is (the token banner). */
  print(text: string): void;
  readonly format: 'json' | 'pretty';
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err']);

const WIDTH = 120;

/** `{a: {b: 1}}` as `[['a.b', 1]]`; arrays and other values stay whole. */
function flatten(value: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(value).flatMap(([key, inner]): [string, unknown][] =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? flatten(inner as Record<string, unknown>, `${prefix}${key}.`)
      : [[`${prefix}${key}`, inner]],
  );
}

/** `auto` is pretty when standard output is a terminal. */
export function createServeOutput(format: 'auto' | 'json' | 'pretty', fd = 1): ServeOutput {
  const chosen = format === 'auto' ? (isatty(fd) ? 'pretty' : 'json') : format;
  let broken = false;
  const write = (text: string) => {
    if (broken) return;
    let rest = Buffer.from(text);
    for (let attempts = 0; rest.length > 0;) {
      try {
        rest = rest.subarray(writeSync(fd, rest));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A full non-blocking pipe: wait a little, a bounded number of times, then give up.
        if ((code === 'EAGAIN' || code === 'EBUSY') && ++attempts <= 50) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
          continue;
        }
        broken = true; // EPIPE and the like: nobody reads any more
        return;
      }
    }
  };
  return {
    format: chosen,
    stream: { write: (line) => write(chosen === 'json' ? line : prettyLine(line)) },
    print: write,
  };
}

/** One pino JSON line as `12:34:56 INFO  message key=value …`, an error's stack below it. */
export function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof entry['time'] === 'number' ? new Date(entry['time']).toTimeString().slice(0, 8) : '--:--:--';
  const level = (LEVELS[entry['level'] as number] ?? String(entry['level'])).padEnd(5);
  const fields = flatten(Object.fromEntries(Object.entries(entry).filter(([key]) => !HIDDEN.has(key)))).map(
    ([key, value]) => `${key}=${typeof value === 'string' && !/[\s"=]/.test(value) ? value : JSON.stringify(value)}`,
  );
  const head = `${time} ${level} ${String(entry['msg'] ?? '')}`;
  const oneLine = [head, ...fields].join(' ');
  // A long line (the start summary) gets one field a line, nested fields named with dots.
  let text =
    oneLine.length <= WIDTH ? `${oneLine}\n` : `${[head, ...fields.map((field) => `    ${field}`)].join('\n')}\n`;
  const err = entry['err'] as { message?: string; stack?: string } | undefined;
  if (err !== undefined) text += `${(err.stack ?? err.message ?? JSON.stringify(err)).replace(/^/gm, '    ')}\n`;
  return text;
}

/** The generated admin token, alone on its line inside a frame, with what to do with it. */
export function tokenBanner(token: string, heading: string): string {
  const inner = token.length + 4;
  const blank = `│${' '.repeat(inner)}│`;
  return [
    '',
    heading,
    '',
    `╭${'─'.repeat(inner)}╮`,
    blank,
    `│  ${token}  │`,
    blank,
    `╰${'─'.repeat(inner)}╯`,
    '',
    '',
  ].join('\n');
}
