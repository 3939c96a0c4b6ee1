import { readHttpUrl, type Reader } from './readers.js';

/** An S3-compatible bucket and how to reach it (FOTA_S3_*). */
export interface S3Settings {
  /** An S3-compatible endpoint (http://host:port); undefined: AWS S3 of the region. */
  readonly endpoint: string | undefined;
  readonly bucket: string;
  readonly region: string;
  /** Both or neither; neither: the AWS SDK's default credential chain (AWS_* variables, profiles, roles). */
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key`, as most S3-compatible servers need. */
  readonly forcePathStyle: boolean;
  /** Put before every key, so deployments can share a bucket: empty or ending in `/`. */
  readonly prefix: string;
  /** Staging objects older than this are what a crashed upload left; removed at start. */
  readonly stagingGraceMs: number;
}

export interface StorageConfig {
  /** The sweep at start keeps unreferenced blobs stored less than this long ago (another node's, in flight). */
  readonly blobSweepMinAgeMs: number;
  /** Where firmware bytes live: the data folder, or an S3-compatible bucket (FOTA_S3_BUCKET set). */
  readonly blobStorage: { readonly kind: 'local' } | { readonly kind: 's3'; readonly s3: S3Settings };
}

export const storageVariables = [
  [
    'FOTA_S3_BUCKET',
    '(none: the data folder)',
    'keep firmware in this S3-compatible bucket instead of FOTA_DATA_DIR; it must exist and be writable',
  ],
  ['FOTA_S3_ENDPOINT', '(AWS S3)', 'URL of an S3-compatible server (http://host:port), or AWS S3 of the region'],
  ['FOTA_S3_REGION', 'us-east-1', 'region of the bucket'],
  [
    'FOTA_S3_ACCESS_KEY_ID',
    "(the AWS SDK's default chain)",
    "access key of the bucket; with FOTA_S3_SECRET_ACCESS_KEY, or both unset for the AWS SDK's default credential chain (AWS_* variables, ~/.aws, instance or task roles)",
  ],
  ['FOTA_S3_SECRET_ACCESS_KEY', "(the AWS SDK's default chain)", 'secret key of the bucket (never printed)'],
  [
    'FOTA_S3_FORCE_PATH_STYLE',
    '(true with FOTA_S3_ENDPOINT)',
    'address the bucket as ENDPOINT/BUCKET/KEY (most S3-compatible servers) rather than BUCKET.ENDPOINT/KEY (true or false)',
  ],
  ['FOTA_S3_PREFIX', '(none)', 'put before every object key (e.g. fota/), so deployments can share a bucket'],
  [
    'FOTA_S3_STAGING_GRACE_S',
    '86400',
    'seconds after which an upload left in the bucket by a crash is removed at start (nodes sharing the bucket may have younger ones in flight)',
  ],
  [
    'FOTA_BLOB_SWEEP_MIN_AGE_S',
    '3600',
    'seconds a firmware file (data folder or bucket) that no firmware refers to is kept before the sweep at start removes it (another node sharing the storage may have just stored it and not yet written its row)',
  ],
] as const;

/** The largest object one S3 CopyObject copies. */
export const MAX_S3_FIRMWARE_BYTES = 5 * 1024 ** 3;

/** `maxFirmwareBytes` must fit one S3 CopyObject when the firmware goes to a bucket. */
export function readStorage(reader: Reader, maxFirmwareBytes: number): StorageConfig {
  const blobSweepMinAgeMs = reader.seconds('FOTA_BLOB_SWEEP_MIN_AGE_S', '3600');
  const blobStorage = readBlobStorage(reader);
  if (blobStorage.kind === 's3' && maxFirmwareBytes > MAX_S3_FIRMWARE_BYTES) {
    reader.problem(
      `FOTA_MAX_FIRMWARE_BYTES is at most ${MAX_S3_FIRMWARE_BYTES} (5 GiB) with S3 storage: a commit copies a blob in one CopyObject`,
    );
  }
  return { blobSweepMinAgeMs, blobStorage };
}

function readBlobStorage(reader: Reader): StorageConfig['blobStorage'] {
  const bucket = reader.text('FOTA_S3_BUCKET', '');
  const s3Only = ['FOTA_S3_ENDPOINT', 'FOTA_S3_ACCESS_KEY_ID', 'FOTA_S3_SECRET_ACCESS_KEY', 'FOTA_S3_PREFIX'];
  if (bucket === '') {
    for (const name of s3Only) {
      if (reader.text(name, '') !== '') {
        reader.problem(`${name} is set but FOTA_S3_BUCKET is not: set the bucket to use S3`);
      }
    }
    return { kind: 'local' };
  }
  // S3's bucket naming rules (the strict, DNS-compatible ones).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    reader.problem(
      `FOTA_S3_BUCKET must be a bucket name of 3 to 63 lower-case letters, digits, dots and hyphens, not "${bucket}"`,
    );
  }
  const endpoint = readHttpUrl(reader, 'FOTA_S3_ENDPOINT');
  const region = reader.text('FOTA_S3_REGION', 'us-east-1');
  if (!/^[a-z0-9-]{1,64}$/.test(region)) {
    reader.problem(`FOTA_S3_REGION must be a region name such as us-east-1, not "${region}"`);
  }
  const accessKeyId = reader.text('FOTA_S3_ACCESS_KEY_ID', '') || undefined;
  const secretAccessKey = reader.text('FOTA_S3_SECRET_ACCESS_KEY', '') || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    reader.problem(
      "FOTA_S3_ACCESS_KEY_ID and FOTA_S3_SECRET_ACCESS_KEY go together: set both, or neither for the AWS SDK's default credential chain",
    );
  }
  const forcePathStyle = reader.flag('FOTA_S3_FORCE_PATH_STYLE', endpoint === undefined ? 'false' : 'true', 'strict');
  const prefixText = reader.text('FOTA_S3_PREFIX', '').replace(/^\/+/, '');
  const prefix = prefixText === '' || prefixText.endsWith('/') ? prefixText : `${prefixText}/`;
  if (!/^[A-Za-z0-9!_.*'()/-]{0,512}$/.test(prefix) || prefix.includes('//')) {
    reader.problem(
      `FOTA_S3_PREFIX may hold letters, digits, / and !_.*'()- (no empty segment, at most 512), not "${prefixText}"`,
    );
  }
  return {
    kind: 's3',
    s3: {
      endpoint,
      bucket,
      region,
      accessKeyId,
      secretAccessKey,
      forcePathStyle: forcePathStyle === true,
      prefix,
      stagingGraceMs: reader.seconds('FOTA_S3_STAGING_GRACE_S', '86400'),
    },
  };
}
