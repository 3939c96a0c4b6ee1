import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blobStoreContract } from './blob-store.contract.js';
import { LocalBlobStore } from './local-blob-store.js';

blobStoreContract(
  'LocalBlobStore',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'fota-blobs-'));
    const store = new LocalBlobStore(root);
    await store.open();
    return {
      store,
      staging: () => readdir(join(root, 'tmp')),
      close: () => rm(root, { recursive: true, force: true }),
    };
  },
  { largeBytes: 12 * 1024 * 1024 },
);

describe('LocalBlobStore on disk', () => {
  let root: string;
  let store: LocalBlobStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'fota-blobs-'));
    store = new LocalBlobStore(root);
    await store.open();
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
  const tmpFiles = (): Promise<string[]> => readdir(join(root, 'tmp'));

  async function collectKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const { sha256 } of store.entries()) keys.push(sha256);
    return keys.sort();
  }

  it('keeps a blob as sha256/<first two digits>/<sha256>', async () => {
    const staged = await store.stage(Readable.from([Buffer.from('laid out')]), { maxBytes: 100 });
    await store.commit(staged);
    expect(await readdir(join(root, 'sha256', staged.sha256.slice(0, 2)))).toEqual([staged.sha256]);
  });

  it('entries() ignores files that are not named by a SHA-256', async () => {
    const bytes = Buffer.from('one');
    await store.commit(await store.stage(Readable.from([bytes]), { maxBytes: 10 }));
    await writeFile(join(root, 'sha256', sha256(bytes).slice(0, 2), 'stray.txt'), 'x');
    expect(await collectKeys()).toEqual([sha256(bytes)]);
  });

  it('open() removes temporary files a crash left behind, and keeps blobs', async () => {
    const kept = await store.stage(Readable.from([Buffer.from('kept')]), { maxBytes: 10 });
    await store.commit(kept);
    await store.stage(Readable.from([Buffer.from('left behind')]), { maxBytes: 100 });
    expect(await tmpFiles()).toHaveLength(1);

    const reopened = new LocalBlobStore(root);
    await reopened.open();
    expect(await tmpFiles()).toEqual([]);
    expect(await reopened.stat(kept.sha256)).toBe(4);
  });
});
