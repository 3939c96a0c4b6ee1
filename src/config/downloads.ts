import { readHttpUrl, type Reader } from './readers.js';
import type { StorageConfig } from './storage.js';

/** How firmware downloads are answered. */
export interface DownloadSettings {
  /** `proxy`: fota streams the bytes; `redirect`: 302 to a presigned URL of the bucket or to the CDN. */
  readonly mode: 'proxy' | 'redirect';
  /** How long a presigned download URL stays valid. */
  readonly urlTtlSeconds: number;
  /** A CDN in front of the bucket, without a trailing slash: redirects go to it + the object key. */
  readonly cdnUrl: string | undefined;
}

export interface DownloadConfig {
  readonly downloads: DownloadSettings;
}

export const downloadVariables = [
  [
    'FOTA_DOWNLOAD_MODE',
    'proxy',
    "proxy: fota streams firmware downloads; redirect (S3 only): /fw/ URLs answer 302 to a short-lived presigned URL of the bucket, or to FOTA_DOWNLOAD_CDN_URL; FOTA lines sent to devices keep fota's own short URL",
  ],
  ['FOTA_DOWNLOAD_URL_TTL_S', '300', 'seconds a presigned download URL stays valid (redirect mode; at most 604800)'],
  [
    'FOTA_DOWNLOAD_CDN_URL',
    '(none)',
    'in redirect mode, send downloads to this base + the object key (a CDN in front of the bucket) instead of a presigned URL',
  ],
] as const;

/** Redirects need the firmware in a bucket (`storage`). */
export function readDownloads(reader: Reader, storage: StorageConfig['blobStorage']['kind']): DownloadConfig {
  const mode = reader.choice('FOTA_DOWNLOAD_MODE', 'proxy', ['proxy', 'redirect']);
  if (mode === 'redirect' && storage !== 's3') {
    reader.problem(
      'FOTA_DOWNLOAD_MODE=redirect needs S3 storage (set FOTA_S3_BUCKET): with firmware in the data folder, fota serves downloads itself (proxy)',
    );
  }
  // A presigned URL of AWS Signature Version 4 lasts at most 7 days.
  const urlTtlSeconds = reader.integer(
    'FOTA_DOWNLOAD_URL_TTL_S',
    '300',
    1,
    604_800,
    (text) => `FOTA_DOWNLOAD_URL_TTL_S must be a whole number of seconds from 1 to 604800, not "${text}"`,
  );
  const cdnUrl = readHttpUrl(reader, 'FOTA_DOWNLOAD_CDN_URL', 'no query');
  if (cdnUrl !== undefined && mode !== 'redirect') {
    reader.problem('FOTA_DOWNLOAD_CDN_URL only applies with FOTA_DOWNLOAD_MODE=redirect: set both, or neither');
  }
  return { downloads: { mode, urlTtlSeconds, cdnUrl } };
}
