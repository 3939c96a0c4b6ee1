import { describe } from 'vitest';
import { itRefusesEach } from './testing/problems.js';

describe('authentication settings', () => {
  itRefusesEach([
    ['FOTA_AUTH_FAILURE_BURST', '0', /FOTA_AUTH_FAILURE_BURST must be a whole number from 1/],
    ['FOTA_AUTH_FAILURES_PER_MINUTE', 'fast', /FOTA_AUTH_FAILURES_PER_MINUTE must be a whole number/],
    ['FOTA_AUTH_THROTTLE_ADDRESSES', '-1', /FOTA_AUTH_THROTTLE_ADDRESSES must be a whole number/],
    ['FOTA_ACCOUNT_FAILURE_BURST', '0', /FOTA_ACCOUNT_FAILURE_BURST must be a whole number/],
    ['FOTA_SESSION_TTL_S', '0', /FOTA_SESSION_TTL_S must be a number of seconds/],
  ]);
});
