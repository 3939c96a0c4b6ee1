import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { blobStoreContract } from '../../src/storage/blob-store.contract.js';
import type { S3Settings } from '../../src/config/index.js';
import { S3BlobStore } from '../../src/storage/s3/s3-blob-store.js';

const engine = inject('s3');
const client = new S3Client({
  endpoint: engine.endpoint,
  region: engine.region,
  forcePathStyle: true,
  credentials: { accessKeyId: engine.accessKeyId, secretAccessKey: engine.secretAccessKey },
});
afterAll(() => client.destroy());

/** Settings of a store of its own: a fresh key prefix in the run's bucket. */
function settings(extra: Partial<S3Settings> = {}): S3Settings {
  return {
    endpoint: engine.endpoint,
    bucket: engine.bucket,
    region: engine.region,
    accessKeyId: engine.accessKeyId,
    secretAccessKey: engine.secretAccessKey,
    forcePathStyle: true,
    prefix: `t-${randomUUID()}/`,
    stagingGraceMs: 3600_000,
    ...extra,
  };
}

async function objectsUnder(prefix: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: engine.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key!);
}

async function uploadsUnder(prefix: string): Promise<string[]> {
  const page = await client.send(new ListMultipartUploadsCommand({ Bucket: engine.bucket, Prefix: prefix }));
  return (page.Uploads ?? []).map((upload) => `${upload.Key!} (unfinished multipart upload)`);
}

blobStoreContract(
  'S3BlobStore on Swift with s3api',
  async () => {
    const own = settings();
    const store = new S3BlobStore(own, { partSize: 5 * 1024 * 1024 });
    await store.open();
    return {
      store,
      staging: async () => [
        ...(await objectsUnder(`${own.prefix}staging/`)),
        ...(await uploadsUnder(`${own.prefix}staging/`)),
      ],
      close: async () => store.close(),
    };
  },
  { largeBytes: 12 * 1024 * 1024 },
);

describe('S3BlobStore start-up', () => {
  it('refuses a bucket that does not exist, naming FOTA_S3_BUCKET and FOTA_S3_ENDPOINT', async () => {
    const store = new S3BlobStore(settings({ bucket: 'no-such-bucket' }));
    try {
      await expect(store.open()).rejects.toThrow(
        /"no-such-bucket" \(FOTA_S3_BUCKET\) at http:\/\/127\.0\.0\.1:\d+ \(FOTA_S3_ENDPOINT\).*404/,
      );
    } finally {
      store.close();
    }
  });

  it('is refused by the engine with a wrong secret, and never prints the secret', async () => {
    const secret = `wrong-${randomUUID()}`;
    const store = new S3BlobStore(settings({ secretAccessKey: secret }));
    try {
      const error = await store.open().then(
        () => undefined,
        (caught: unknown) => caught as Error,
      );
      expect(error?.message).toMatch(/FOTA_S3_BUCKET.*403.*FOTA_S3_SECRET_ACCESS_KEY/);
      expect(error?.message).not.toContain(secret);
    } finally {
      store.close();
    }
  });

  it('refuses an endpoint nothing listens on, in words', async () => {
    const store = new S3BlobStore(settings({ endpoint: 'http://127.0.0.1:1' }));
    try {
      await expect(store.open()).rejects.toThrow(/cannot be reached.*ECONNREFUSED|cannot be reached/);
    } finally {
      store.close();
    }
  });

  it('removes staging objects and unfinished uploads older than the grace period, and keeps younger ones', async () => {
    const own = settings();
    const staging = `${own.prefix}staging/`;
    await client.send(
      new PutObjectCommand({ Bucket: engine.bucket, Key: `${staging}crashed`, Body: 'left by a crash' }),
    );
    await client.send(new CreateMultipartUploadCommand({ Bucket: engine.bucket, Key: `${staging}crashed-in-parts` }));
    const left = [`${staging}crashed`];
    const unfinished = [`${staging}crashed-in-parts (unfinished multipart upload)`];

    // Just made, they may be another node's uploads in flight: a store opened now keeps them.
    const now = new S3BlobStore(own);
    try {
      expect(await now.open()).toBe(0);
    } finally {
      now.close();
    }
    expect(await objectsUnder(staging)).toEqual(left);
    expect(await uploadsUnder(staging)).toEqual(unfinished);

    // Two hours on, they are older than the hour of grace: removed, and blobs are untouched.
    const later = new S3BlobStore(own, { now: () => new Date(Date.now() + 7200_000) });
    try {
      const blob = await later.stage(Readable.from([Buffer.from('kept')]), { maxBytes: 10 });
      await later.commit(blob);
      expect(await later.open()).toBe(2);
      expect(await later.stat(blob.sha256)).toBe(4);
    } finally {
      later.close();
    }
    expect(await objectsUnder(staging)).toEqual([]);
    expect(await uploadsUnder(staging)).toEqual([]);
  });
});
