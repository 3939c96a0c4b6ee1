import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { BlobStore } from '../domain/ports.js';
import { LocalBlobStore } from './local-blob-store.js';
import { S3BlobStore } from './s3/s3-blob-store.js';

/** Where a download is sent instead of being served: a URL of the blob's bytes. */
type DownloadRedirect = (blob: { readonly sha256: string; readonly contentDisposition: string }) => Promise<string>;

export interface BlobStorage {
  readonly store: BlobStore;
  /** Set in redirect mode (S3 only): the presigned or CDN URL a download answers 302 to. */
  readonly downloadRedirect: DownloadRedirect | undefined;
  close(): void;
}

/**
 * The blob store the configuration names, opened: the data folder's `blobs/` (temporary files of a
 * crash removed unless `clean` is false), or the S3 bucket (reachable and writable, stale staging
 * removed after its grace period).
 */
export async function openBlobStorage(
  config: Config,
  logger: Logger,
  options: { readonly clean: boolean } = { clean: true },
): Promise<BlobStorage> {
  if (config.blobStorage.kind === 'local') {
    const store = new LocalBlobStore(join(config.dataDir, 'blobs'));
    await store.open(options);
    return { store, downloadRedirect: undefined, close: () => undefined };
  }
  const { s3 } = config.blobStorage;
  const store = new S3BlobStore(s3, { maxSockets: config.httpLimits.maxConnections });
  try {
    const removed = await store.open();
    if (removed > 0) logger.warn({ uploads: removed }, 'removed uploads a crash left in the S3 bucket');
  } catch (error) {
    store.close();
    throw error;
  }
  const { mode, cdnUrl, urlTtlSeconds } = config.downloads;
  const downloadRedirect: DownloadRedirect | undefined =
    mode !== 'redirect'
      ? undefined
      : cdnUrl !== undefined
        ? async ({ sha256 }) => `${cdnUrl}/${store.keyOf(sha256)}`
        : ({ sha256, contentDisposition }) => store.presignedGet(sha256, urlTtlSeconds, contentDisposition);
  logger.info({ bucket: s3.bucket, endpoint: s3.endpoint ?? 'AWS S3', downloads: mode }, 'firmware kept in S3');
  return { store, downloadRedirect, close: () => store.close() };
}
