import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.js';
import { itRefusesEach } from './testing/problems.js';

describe('secrets', () => {
  it('reads FOTA_SIGNING_KEK as 32 bytes in base64', () => {
    const kek = Buffer.alloc(32, 7);
    expect(loadConfig({ FOTA_SIGNING_KEK: kek.toString('base64') }).signingKek).toEqual(kek);
  });

  itRefusesEach([
    ['FOTA_ADMIN_TOKEN', 'fifteen-chars-x', /at least 16 characters without whitespace/],
    ['FOTA_ADMIN_TOKEN', 'a token with spaces in it', /at least 16 characters without whitespace/],
    ['FOTA_SIGNING_KEK', Buffer.alloc(31).toString('base64'), /32 bytes in base64/],
    ['FOTA_SIGNING_KEK', 'not base64 at all!', /32 bytes in base64/],
  ]);
});
