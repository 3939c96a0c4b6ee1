import { describe } from 'vitest';
import { itRefusesEach } from './testing/problems.js';

describe('retention settings', () => {
  itRefusesEach([
    ['FOTA_AUDIT_RETENTION_DAYS', '-1', /whole number from 0 to 36500/],
    ['FOTA_AUDIT_RETENTION_DAYS', '36501', /whole number from 0 to 36500/],
    ['FOTA_AUDIT_MAX_ENTRIES', '1.5', /whole number from 0 to 1000000000/],
    ['FOTA_HISTORY_RETENTION_DAYS', 'forever', /whole number from 0 to 36500/],
    ['FOTA_HISTORY_MAX_PUSHES', '-3', /whole number from 0/],
    ['FOTA_PURGE_INTERVAL_S', '0', /number of seconds above 0/],
  ]);
});
