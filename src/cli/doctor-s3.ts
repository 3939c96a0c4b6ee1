import { randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DownloadSettings, S3Settings } from '../config/index.js';
import type { Check } from './doctor.js';

/** How long connecting to the bucket, and each request of the check, may take. */
export const S3_CHECK_TIMEOUT_MS = 10_000;

/**
 * The bucket as `fota serve` uses it, step by step, each failure in words with the variable to look
 * at: the endpoint answers, the credentials are accepted, the bucket exists, a probe object under
 * the prefix (`staging/doctor-…`, which a start would clean up if the check died) can be put, read
 * back and deleted, and in redirect mode a presigned URL of it answers without credentials.
 */
export function s3Check(settings: S3Settings, downloads: DownloadSettings): Check {
  const endpoint = settings.endpoint ?? `AWS S3 in ${settings.region}`;
  const bucket = `bucket "${settings.bucket}" (FOTA_S3_BUCKET)`;
  return {
    name: 'S3 bucket',
    async run() {
      const client = new S3Client({
        ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
        region: settings.region,
        forcePathStyle: settings.forcePathStyle,
        ...(settings.accessKeyId !== undefined && settings.secretAccessKey !== undefined
          ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
          : {}),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 1,
        requestHandler: { connectionTimeout: S3_CHECK_TIMEOUT_MS, requestTimeout: S3_CHECK_TIMEOUT_MS },
      });
      const step = async <T>(what: string, send: () => Promise<T>): Promise<T> => {
        try {
          return await send();
        } catch (error) {
          throw new Error(s3Problem(what, error, { endpoint, bucket, prefix: settings.prefix }), { cause: error });
        }
      };
      try {
        await step('list', () =>
          client.send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: settings.prefix, MaxKeys: 1 })),
        );
        const key = `${settings.prefix}staging/doctor-${randomUUID()}`;
        const body = `fota doctor ${randomUUID()}`;
        await step('put', () => client.send(new PutObjectCommand({ Bucket: settings.bucket, Key: key, Body: body })));
        let presigned = '';
        try {
          const got = await step('read', () =>
            client.send(new GetObjectCommand({ Bucket: settings.bucket, Key: key })),
          );
          const read = await got.Body?.transformToString();
          if (read !== body) {
            throw new Error(
              `the ${bucket} at ${endpoint} answered other bytes for the probe object ${key} than were put`,
            );
          }
          if (downloads.mode === 'redirect') presigned = await checkPresigned(client, settings, key, body, downloads);
        } finally {
          await step('delete', () => client.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: key })));
        }
        const where = settings.prefix === '' ? '' : ` under ${settings.prefix}`;
        return `${bucket} at ${endpoint}: credentials accepted, a probe object${where} put, read back and deleted${presigned}`;
      } finally {
        client.destroy();
      }
    },
  };
}

/** Fetches a presigned URL of the probe object without credentials, as a redirected device would. */
async function checkPresigned(
  client: S3Client,
  settings: S3Settings,
  key: string,
  body: string,
  downloads: DownloadSettings,
): Promise<string> {
  if (downloads.cdnUrl !== undefined) {
    return `; redirects go to FOTA_DOWNLOAD_CDN_URL ${downloads.cdnUrl}, which this check does not fetch`;
  }
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: settings.bucket, Key: key }), {
    expiresIn: 60,
  });
  const origin = new URL(url).origin;
  const problem = (what: string) =>
    `a presigned URL of the probe object (at ${origin}) ${what}: devices redirected there (FOTA_DOWNLOAD_MODE=redirect) would fail; check that devices reach FOTA_S3_ENDPOINT, this machine's clock (presigned URLs carry the time) and the region (FOTA_S3_REGION)`;
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(S3_CHECK_TIMEOUT_MS) });
  } catch (error) {
    throw new Error(problem(`could not be fetched (${(error as Error).cause ?? (error as Error).message})`), {
      cause: error,
    });
  }
  const text = await response.text();
  if (response.status !== 200) throw new Error(problem(`answered HTTP ${response.status}`));
  if (text !== body) throw new Error(problem('answered other bytes than were put'));
  return `; a presigned GET of it answered 200 without credentials (redirect mode), from ${origin}`;
}

interface Where {
  readonly endpoint: string;
  readonly bucket: string;
  readonly prefix: string;
}

const ACTIONS: Record<string, string> = {
  list: 's3:ListBucket',
  put: 's3:PutObject',
  read: 's3:GetObject',
  delete: 's3:DeleteObject',
};

/** What a failed request of the check means, and which variable to look at. No secret is shown. */
export function s3Problem(what: string, error: unknown, { endpoint, bucket, prefix }: Where): string {
  if (!(error instanceof S3ServiceException)) {
    const message = error instanceof Error ? error.message : String(error);
    const name = error instanceof Error ? error.name : '';
    if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
      return `no S3 credentials: set FOTA_S3_ACCESS_KEY_ID and FOTA_S3_SECRET_ACCESS_KEY, or give the AWS SDK's default chain some (AWS_* variables, ~/.aws, a role) (${message})`;
    }
    const code = (error as { code?: string }).code ?? '';
    const reason =
      message === '' ? code || name : code !== '' && !message.includes(code) ? `${code} ${message}` : message;
    return `cannot reach the S3 endpoint ${endpoint} (FOTA_S3_ENDPOINT): ${reason}`;
  }
  const status = error.$metadata.httpStatusCode;
  const named = `${error.name}${status === undefined ? '' : `, HTTP ${status}`}`;
  switch (error.name) {
    case 'InvalidAccessKeyId':
      return `the S3 server at ${endpoint} does not know the access key (FOTA_S3_ACCESS_KEY_ID) (${named})`;
    case 'SignatureDoesNotMatch':
      return `the S3 server at ${endpoint} refused the secret key (FOTA_S3_SECRET_ACCESS_KEY): the signature does not match (${named})`;
    case 'NoSuchBucket':
      return `the ${bucket} does not exist at ${endpoint}: create it, or correct FOTA_S3_BUCKET (${named})`;
    case 'RequestTimeTooSkewed':
      return `the S3 server at ${endpoint} refused the request's time: this machine's clock is off; run NTP (${named})`;
    case 'AuthorizationHeaderMalformed':
    case 'PermanentRedirect':
    case 'IllegalLocationConstraintException':
      return `the ${bucket} is not in the region FOTA_S3_REGION says, or FOTA_S3_ENDPOINT is another region's (${named})`;
    case 'AccessDenied':
      return `the credentials (FOTA_S3_ACCESS_KEY_ID) may not ${what} ${what === 'list' ? 'the' : `objects under "${prefix}" in the`} ${bucket}: grant ${ACTIONS[what] ?? what} (${named})`;
  }
  if (status === 404 && what === 'list') {
    return `the ${bucket} does not exist at ${endpoint}: create it, or correct FOTA_S3_BUCKET (${named})`;
  }
  if (status === 403) {
    return `the S3 server at ${endpoint} refused to ${what} in the ${bucket}: check FOTA_S3_ACCESS_KEY_ID and FOTA_S3_SECRET_ACCESS_KEY (${named})`;
  }
  return `the S3 server at ${endpoint} failed to ${what} in the ${bucket} (${named}: ${error.message})`;
}
