import { describe } from 'vitest';
import { itRefusesEach } from './testing/problems.js';

describe('logging and shutdown settings', () => {
  itRefusesEach([
    ['FOTA_LOG_LEVEL', 'verbose', /one of fatal, error, warn, info, debug, trace, silent/],
    ['FOTA_LOG_FORMAT', 'text', /FOTA_LOG_FORMAT must be json, pretty or auto, not "text"/],
    ['FOTA_SHUTDOWN_GRACE_S', '-1', /FOTA_SHUTDOWN_GRACE_S must be a number of seconds from 0 to 3600/],
    ['FOTA_SHUTDOWN_GRACE_S', '3601', /FOTA_SHUTDOWN_GRACE_S must be a number of seconds/],
    ['FOTA_SHUTDOWN_GRACE_S', 'later', /FOTA_SHUTDOWN_GRACE_S must be a number of seconds/],
  ]);
});
