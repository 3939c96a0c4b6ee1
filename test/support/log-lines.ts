import { pino, type Logger } from 'pino';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** pino's numbers for its level names. */
export const levels = { error: 50, warn: 40, info: 30 } as const;

/** A real pino logger at `info` whose lines a test can read back. */
export function capturingLogger(): { logger: Logger; lines: () => LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines: () => [...lines] };
}
