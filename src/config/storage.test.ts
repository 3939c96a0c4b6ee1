import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.js';
import { itRefusesEach, itRefusesEachEnv, problemsOf } from './testing/problems.js';

describe('S3 storage settings', () => {
  const s3 = { FOTA_S3_BUCKET: 'fota-firmware' };

  it('uses the data folder unless FOTA_S3_BUCKET is set', () => {
    expect(loadConfig({}).blobStorage).toEqual({ kind: 'local' });
    expect(loadConfig(s3).blobStorage).toEqual({
      kind: 's3',
      s3: {
        endpoint: undefined,
        bucket: 'fota-firmware',
        region: 'us-east-1',
        accessKeyId: undefined,
        secretAccessKey: undefined,
        forcePathStyle: false,
        prefix: '',
        stagingGraceMs: 86_400_000,
      },
    });
  });

  it('addresses the bucket by path by default once an endpoint is set', () => {
    const config = loadConfig({ ...s3, FOTA_S3_ENDPOINT: 'http://127.0.0.1:9000' });
    expect(config.blobStorage.kind === 's3' && config.blobStorage.s3.forcePathStyle).toBe(true);
  });

  itRefusesEachEnv([
    [{ FOTA_S3_BUCKET: 'Fota_Firmware' }, /^FOTA_S3_BUCKET must be a bucket name/],
    [{ FOTA_S3_BUCKET: 'ab' }, /^FOTA_S3_BUCKET must be a bucket name/],
    [{ ...s3, FOTA_S3_ENDPOINT: 's3.example.com' }, /^FOTA_S3_ENDPOINT must be an http/],
    [{ ...s3, FOTA_S3_ENDPOINT: 'http://key:secret@s3.example.com' }, /^FOTA_S3_ENDPOINT must be an http/],
    [{ ...s3, FOTA_S3_REGION: 'EU West' }, /^FOTA_S3_REGION must be a region name/],
    [{ ...s3, FOTA_S3_ACCESS_KEY_ID: 'AKIA' }, /^FOTA_S3_ACCESS_KEY_ID and FOTA_S3_SECRET_ACCESS_KEY go together/],
    [{ ...s3, FOTA_S3_SECRET_ACCESS_KEY: 'x' }, /^FOTA_S3_ACCESS_KEY_ID and FOTA_S3_SECRET_ACCESS_KEY go together/],
    [{ ...s3, FOTA_S3_FORCE_PATH_STYLE: 'maybe' }, /^FOTA_S3_FORCE_PATH_STYLE must be true or false/],
    [{ ...s3, FOTA_S3_PREFIX: 'a b' }, /^FOTA_S3_PREFIX may hold/],
    [{ ...s3, FOTA_S3_PREFIX: 'a//b' }, /^FOTA_S3_PREFIX may hold/],
    [{ ...s3, FOTA_S3_STAGING_GRACE_S: '0' }, /^FOTA_S3_STAGING_GRACE_S must be a number of seconds/],
    [{ FOTA_S3_ENDPOINT: 'http://127.0.0.1:9000' }, /^FOTA_S3_ENDPOINT is set but FOTA_S3_BUCKET is not/],
    [{ ...s3, FOTA_MAX_FIRMWARE_BYTES: String(5 * 1024 ** 3 + 1) }, /^FOTA_MAX_FIRMWARE_BYTES is at most 5368709120/],
  ]);

  it('never puts the secret key into a problem', () => {
    const problems = problemsOf({ ...s3, FOTA_S3_SECRET_ACCESS_KEY: 'very-secret-value' });
    expect(problems.join('\n')).not.toContain('very-secret-value');
  });
});

describe('the sweep of unreferenced blobs', () => {
  itRefusesEach([['FOTA_BLOB_SWEEP_MIN_AGE_S', '0', /FOTA_BLOB_SWEEP_MIN_AGE_S must be a number of seconds above 0/]]);
});
