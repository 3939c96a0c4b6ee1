import type { RetentionPolicy } from '../domain/services/retention.js';
import type { Reader } from './readers.js';

export interface RetentionConfig {
  /** How long the audit log and the push history are kept. */
  readonly retention: RetentionPolicy;
  /** How often the purge of old audit entries and push history runs. */
  readonly purgeIntervalMs: number;
}

export const retentionVariables = [
  ['FOTA_AUDIT_RETENTION_DAYS', '365', 'days audit log entries are kept (0: no age limit)'],
  [
    'FOTA_AUDIT_MAX_ENTRIES',
    '1000000',
    'audit log entries kept at most; past it the oldest go at the next purge (0: no count limit)',
  ],
  [
    'FOTA_HISTORY_RETENTION_DAYS',
    '365',
    'days finished pushes are kept with their devices and status histories (0: no age limit); a push with a device still in progress is never purged',
  ],
  [
    'FOTA_HISTORY_MAX_PUSHES',
    '0',
    'pushes kept at most, newest first; older finished ones go at the next purge (0: no count limit)',
  ],
  [
    'FOTA_PURGE_INTERVAL_S',
    '3600',
    'seconds between two purges of old audit entries and push history (the first one this long, at most a minute, after the start); each deletes in batches of 1,000 rows',
  ],
] as const;

export function readRetention(reader: Reader): RetentionConfig {
  /** A limit where 0 means none. */
  const limit = (name: string, fallback: string, max: number): number | undefined =>
    reader.integer(name, fallback, 0, max) || undefined;
  const days = (name: string, fallback: string): number | undefined => {
    const value = limit(name, fallback, 36_500);
    return value === undefined ? undefined : value * 86_400_000;
  };
  return {
    retention: {
      auditMaxAgeMs: days('FOTA_AUDIT_RETENTION_DAYS', '365'),
      auditMaxEntries: limit('FOTA_AUDIT_MAX_ENTRIES', '1000000', 1_000_000_000),
      historyMaxAgeMs: days('FOTA_HISTORY_RETENTION_DAYS', '365'),
      historyMaxPushes: limit('FOTA_HISTORY_MAX_PUSHES', '0', 1_000_000_000),
    },
    purgeIntervalMs: reader.seconds('FOTA_PURGE_INTERVAL_S', '3600'),
  };
}
