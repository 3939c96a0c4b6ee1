import type { Reader } from './readers.js';

/** How the process logs, and how long it lets requests finish when told to stop. */
export interface ProcessConfig {
  readonly logLevel: string;
  /** `auto`: readable lines when standard output is a terminal, JSON lines otherwise. */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** On SIGINT or SIGTERM, requests in flight get this long to finish before the process exits. */
  readonly shutdownGraceMs: number;
}

export const processVariables = [
  ['FOTA_LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent'],
  ['FOTA_LOG_FORMAT', 'auto', 'json (one JSON object a line) or pretty (readable lines); auto: pretty on a terminal'],
  [
    'FOTA_SHUTDOWN_GRACE_S',
    '10',
    'seconds requests in flight (uploads, downloads) get to finish after SIGINT or SIGTERM before the process exits',
  ],
] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function readProcess(reader: Reader): ProcessConfig {
  return {
    logLevel: reader.choice(
      'FOTA_LOG_LEVEL',
      'info',
      LOG_LEVELS,
      () => `FOTA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`,
    ),
    logFormat: reader.choice('FOTA_LOG_FORMAT', 'auto', ['json', 'pretty', 'auto']),
    shutdownGraceMs: reader.secondsUpTo(
      'FOTA_SHUTDOWN_GRACE_S',
      '10',
      3600,
      (text) => `FOTA_SHUTDOWN_GRACE_S must be a number of seconds from 0 to 3600, not "${text}"`,
    ),
  };
}
