import { describe } from 'vitest';
import { itRefusesEach } from './testing/problems.js';

describe('webhook settings', () => {
  itRefusesEach([
    ['FOTA_WEBHOOK_ALLOW_PRIVATE', 'maybe', /FOTA_WEBHOOK_ALLOW_PRIVATE must be true or false, not "maybe"/],
    ['FOTA_WEBHOOK_MAX_ATTEMPTS', '0', /FOTA_WEBHOOK_MAX_ATTEMPTS must be a whole number from 1 to 1000/],
    ['FOTA_WEBHOOK_RETRY_MAX_S', '1', /FOTA_WEBHOOK_RETRY_MAX_S must be at least FOTA_WEBHOOK_RETRY_BASE_S/],
    ['FOTA_WEBHOOK_TIMEOUT_S', '0', /FOTA_WEBHOOK_TIMEOUT_S must be a number of seconds above 0/],
  ]);
});
