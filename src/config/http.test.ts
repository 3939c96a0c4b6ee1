import { describe } from 'vitest';
import { itRefusesEach } from './testing/problems.js';

describe('HTTP limits', () => {
  itRefusesEach([
    ['FOTA_MAX_HTTP_CONNECTIONS', '0', /FOTA_MAX_HTTP_CONNECTIONS must be a whole number from 1/],
    ['FOTA_HTTP_HEADERS_TIMEOUT_S', '0', /FOTA_HTTP_HEADERS_TIMEOUT_S must be a number of seconds above 0/],
    ['FOTA_HTTP_REQUEST_TIMEOUT_S', 'long', /FOTA_HTTP_REQUEST_TIMEOUT_S must be a number of seconds/],
    ['FOTA_HTTP_DEVICE_REQUEST_TIMEOUT_S', '-1', /FOTA_HTTP_DEVICE_REQUEST_TIMEOUT_S must be a number of seconds/],
    ['FOTA_HTTP_IDLE_TIMEOUT_S', '0', /FOTA_HTTP_IDLE_TIMEOUT_S must be a number of seconds/],
    ['FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S', 'x', /FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S must be a number of seconds/],
  ]);
});
