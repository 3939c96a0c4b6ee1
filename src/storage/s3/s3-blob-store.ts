import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { MAX_S3_FIRMWARE_BYTES, StartError, type S3Settings } from '../../config/index.js';
import { DomainError, notFound } from '../../domain/errors.js';
import type { BlobStore, ByteRange, StagedBlob, StoredBlob } from '../../domain/ports.js';
import { HashingStream } from '../hashing.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface S3BlobStoreOptions {
  /** Bytes of each part of a multipart upload (at least 5 MiB, S3's minimum). */
  readonly partSize?: number;
  /**
   * Sockets to the bucket at most (each proxied download and each upload holds one): the SDK's 50
   * would queue downloads behind each other, so the composition root passes the HTTP socket limit.
   */
  readonly maxSockets?: number;
  readonly now?: () => Date;
}

/**
 * Blobs as objects `prefix + blobs/<sha256>` in an S3-compatible bucket. `stage` streams the upload
 * (multipart past one part) to `prefix + staging/<random>` while hashing it, and a failure aborts the
 * upload so nothing is left; `commit` copies the staging object under the blob's key and deletes it.
 * Firmware of up to 5 GiB (one CopyObject) is supported.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly staged = new WeakMap<StagedBlob, string>();
  private readonly bucket: string;
  private readonly stagingPrefix: string;
  private readonly blobPrefix: string;
  private readonly stagingGraceMs: number;
  private readonly partSize: number;
  private readonly now: () => Date;

  constructor(
    private readonly settings: S3Settings,
    options: S3BlobStoreOptions = {},
  ) {
    this.client = new S3Client({
      ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      ...(settings.accessKeyId !== undefined && settings.secretAccessKey !== undefined
        ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
        : {}),
      // Checksums only where S3 requires them: many S3-compatible servers refuse the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A bucket that does not accept a connection within 10 s is down; no limit on a slow answer,
      // since a proxied download reads as slowly as its client does.
      requestHandler: {
        connectionTimeout: 10_000,
        httpAgent: { maxSockets: options.maxSockets ?? 256 },
        httpsAgent: { maxSockets: options.maxSockets ?? 256 },
      },
    });
    this.bucket = settings.bucket;
    this.stagingPrefix = `${settings.prefix}staging/`;
    this.blobPrefix = `${settings.prefix}blobs/`;
    // A staging object (or unfinished multipart upload) older than this was left by a process that
    // died; younger ones may be uploads in flight on another node sharing the bucket.
    this.stagingGraceMs = settings.stagingGraceMs;
    this.partSize = Math.max(5 * 1024 * 1024, options.partSize ?? 8 * 1024 * 1024);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Checks that the bucket exists and this process may write to it, then removes what crashed
   * uploads left in staging (older than the grace period). Answers how many were removed.
   */
  async open(): Promise<number> {
    const where = `bucket "${this.bucket}" (FOTA_S3_BUCKET) at ${this.settings.endpoint ?? `AWS S3 in ${this.settings.region}`} (FOTA_S3_ENDPOINT)`;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      throw new StartError(`the S3 ${where} cannot be reached: ${describe(error)}`);
    }
    const probe = `${this.stagingPrefix}probe-${randomUUID()}`;
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: 'fota' }));
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: probe }));
    } catch (error) {
      throw new StartError(`the S3 ${where} is not writable with these credentials: ${describe(error)}`);
    }
    return this.removeStaleStaging();
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  async stage(source: Readable, options: { readonly maxBytes: number }): Promise<StagedBlob> {
    const key = `${this.stagingPrefix}${randomUUID()}`;
    const hashing = new HashingStream(options.maxBytes);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: hashing, ContentType: 'application/octet-stream' },
      partSize: this.partSize,
      queueSize: 2,
      leavePartsOnError: false,
    });
    // A failed upload stops the stream too, so that neither side waits for the other.
    const uploading = upload.done().catch((error: unknown) => {
      hashing.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    });
    const [fed, uploaded] = await Promise.allSettled([pipeline(source, hashing), uploading]);
    if (fed.status === 'rejected' || uploaded.status === 'rejected') {
      // The upload aborts its multipart upload itself when the stream fails; make sure of it.
      source.destroy();
      await this.removeStaging(key);
      // The stream's own failure (too_large, the client gone) says more than the upload's.
      throw fed.status === 'rejected' ? fed.reason : (uploaded as PromiseRejectedResult).reason;
    }
    const staged: StagedBlob = hashing.digests();
    this.staged.set(staged, key);
    return staged;
  }

  async commit(staged: StagedBlob): Promise<boolean> {
    const key = this.staged.get(staged);
    if (key === undefined) throw new Error('this blob was not staged here or was already committed');
    if (staged.size > MAX_S3_FIRMWARE_BYTES) {
      throw new DomainError('too_large', `S3 storage keeps firmware of at most ${MAX_S3_FIRMWARE_BYTES} bytes`);
    }
    const target = this.keyOf(staged.sha256);
    const copy = (from: string) =>
      this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          CopySource: `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
          ContentType: 'application/octet-stream',
          MetadataDirective: 'REPLACE',
          Metadata: { md5: staged.md5 },
        }),
      );
    if ((await this.stat(staged.sha256)) !== undefined) {
      // Stored already: copied onto itself, it is young again (LastModified), so that no sweep of
      // another node takes it before its new row is written.
      await copy(target);
      return false;
    }
    await copy(key);
    this.staged.delete(staged);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    return true;
  }

  async discard(staged: StagedBlob): Promise<void> {
    const key = this.staged.get(staged);
    if (key === undefined) return;
    this.staged.delete(staged);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async get(sha256: string, range?: ByteRange): Promise<Readable> {
    const key = this.keyOf(sha256);
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      if (!(answer.Body instanceof Readable)) throw new Error('the S3 client answered a body that is not a stream');
      return answer.Body;
    } catch (error) {
      if (isMissing(error)) throw notFound(`no blob ${sha256}`);
      throw error;
    }
  }

  async stat(sha256: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async delete(sha256: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
  }

  async *entries(): AsyncIterable<StoredBlob> {
    for await (const object of this.list(this.blobPrefix)) {
      const name = object.key.slice(this.blobPrefix.length);
      // An object listed without LastModified (never seen from S3 itself) counts as just written.
      if (SHA256_HEX.test(name)) yield { sha256: name, storedAt: object.lastModified ?? this.now() };
    }
  }

  /** The object key of a blob, under which a CDN in front of the bucket serves it. */
  keyOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new DomainError('invalid_input', 'a blob key is a SHA-256 in lowercase hex');
    return `${this.blobPrefix}${sha256}`;
  }

  /**
   * A GET URL of the blob that the bucket honours for `ttlSeconds`, without credentials; the bucket
   * answers it with this Content-Disposition when one is given.
   */
  presignedGet(sha256: string, ttlSeconds: number, contentDisposition?: string): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.keyOf(sha256),
        ...(contentDisposition === undefined ? {} : { ResponseContentDisposition: contentDisposition }),
      }),
      { expiresIn: ttlSeconds },
    );
  }

  private async *list(prefix: string): AsyncIterable<{ key: string; lastModified: Date | undefined }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) yield { key: object.Key, lastModified: object.LastModified };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** The staging object and any unfinished multipart upload of it. */
  private async removeStaging(key: string): Promise<void> {
    for (const upload of await this.multipartUploads(key)) {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.key, UploadId: upload.uploadId }),
      );
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  private async removeStaleStaging(): Promise<number> {
    const cutoff = this.now().getTime() - this.stagingGraceMs;
    let removed = 0;
    for await (const object of this.list(this.stagingPrefix)) {
      if (object.lastModified !== undefined && object.lastModified.getTime() < cutoff) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.key }));
        removed++;
      }
    }
    for (const upload of await this.multipartUploads(this.stagingPrefix)) {
      if (upload.initiated !== undefined && upload.initiated.getTime() < cutoff) {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.key, UploadId: upload.uploadId }),
        );
        removed++;
      }
    }
    return removed;
  }

  private async multipartUploads(
    prefix: string,
  ): Promise<Array<{ key: string; uploadId: string; initiated: Date | undefined }>> {
    const found: Array<{ key: string; uploadId: string; initiated: Date | undefined }> = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key !== undefined && upload.UploadId !== undefined) {
          found.push({ key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated });
        }
      }
      if (!page.IsTruncated) return found;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }
}

function isMissing(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey' || error.name === 'NotFound')
  );
}

/** What went wrong, in words, without anything of the request (no credentials). */
function describe(error: unknown): string {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    const name = error.name === 'NotFound' || error.name === 'Unknown' ? '' : `${error.name} `;
    if (status === 404) return `${name}(HTTP 404: no such bucket)`;
    if (status === 403)
      return `${name}(HTTP 403: access denied; check FOTA_S3_ACCESS_KEY_ID and FOTA_S3_SECRET_ACCESS_KEY)`;
    return `${name}(HTTP ${status ?? '?'})`.trim();
  }
  return error instanceof Error ? error.message : String(error);
}
