import { describe } from 'vitest';
import { itRefusesEach } from './testing/problems.js';

describe('push timeouts', () => {
  itRefusesEach([
    ['FOTA_PUSH_SENT_TIMEOUT_S', '-5', /FOTA_PUSH_SENT_TIMEOUT_S must be a number of seconds/],
    ['FOTA_PUSH_DOWNLOADING_TIMEOUT_S', 'later', /FOTA_PUSH_DOWNLOADING_TIMEOUT_S must be a number of seconds/],
  ]);
});
