import { describe } from 'vitest';
import { itRefusesEach } from './testing/problems.js';

describe('server settings', () => {
  itRefusesEach([
    ['FOTA_HTTP_PORT', 'abc', /port number from 0 to 65535, not "abc"/],
    ['FOTA_HTTP_PORT', '-1', /port number/],
    ['FOTA_HTTP_PORT', '65536', /port number/],
    ['FOTA_HTTP_PORT', '80.5', /port number/],
    ['FOTA_HTTP_PORT', ' 80', /port number/],
  ]);
});
