import { describe } from 'vitest';
import { itRefusesEachEnv } from './testing/problems.js';

describe('download settings', () => {
  const s3 = { FOTA_S3_BUCKET: 'fota-firmware' };

  itRefusesEachEnv([
    [{ FOTA_DOWNLOAD_MODE: 'cdn' }, /^FOTA_DOWNLOAD_MODE must be proxy or redirect/],
    [{ FOTA_DOWNLOAD_MODE: 'redirect' }, /^FOTA_DOWNLOAD_MODE=redirect needs S3 storage \(set FOTA_S3_BUCKET\)/],
    [
      { ...s3, FOTA_DOWNLOAD_URL_TTL_S: '0' },
      /^FOTA_DOWNLOAD_URL_TTL_S must be a whole number of seconds from 1 to 604800/,
    ],
    [{ ...s3, FOTA_DOWNLOAD_URL_TTL_S: '604801' }, /^FOTA_DOWNLOAD_URL_TTL_S must be/],
    [
      { ...s3, FOTA_DOWNLOAD_MODE: 'redirect', FOTA_DOWNLOAD_CDN_URL: 'cdn.example.com' },
      /^FOTA_DOWNLOAD_CDN_URL must be/,
    ],
    [
      { ...s3, FOTA_DOWNLOAD_MODE: 'redirect', FOTA_DOWNLOAD_CDN_URL: 'https://c.example/?a=1' },
      /^FOTA_DOWNLOAD_CDN_URL must be/,
    ],
    [
      { ...s3, FOTA_DOWNLOAD_CDN_URL: 'https://cdn.example.com' },
      /^FOTA_DOWNLOAD_CDN_URL only applies with FOTA_DOWNLOAD_MODE=redirect/,
    ],
  ]);
});
