import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDomainError } from '../domain/errors.js';
import { LocalBlobStore } from './local-blob-store.js';

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
const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');
const tmpFiles = (): Promise<string[]> => readdir(join(root, 'tmp'));

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collectKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.keys()) keys.push(key);
  return keys.sort();
}

/** A source that gives some bytes, then fails. */
function failingSource(): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(Buffer.alloc(2048, 1));
      } else {
        this.destroy(new Error('client went away'));
      }
    },
  });
}

describe('LocalBlobStore', () => {
  it('stages with the digests, then commits under the SHA-256', async () => {
    const bytes = randomBytes(70_000);
    const staged = await store.stage(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), {
      maxBytes: 1e6,
    });
    expect(staged).toEqual({ sha256: sha256(bytes), md5: md5(bytes), size: bytes.length });
    expect(await tmpFiles()).toHaveLength(1);
    expect(await store.stat(staged.sha256)).toBeUndefined();

    expect(await store.commit(staged)).toBe(true);
    expect(await tmpFiles()).toEqual([]);
    expect(await store.stat(staged.sha256)).toBe(bytes.length);
    expect(await readdir(join(root, 'sha256', staged.sha256.slice(0, 2)))).toEqual([staged.sha256]);
    expect((await readAll(await store.get(staged.sha256))).equals(bytes)).toBe(true);
  });

  it('stores the same bytes once: the second commit is false and discard drops its copy', async () => {
    const bytes = Buffer.from('same firmware');
    const first = await store.stage(Readable.from([bytes]), { maxBytes: 100 });
    const second = await store.stage(Readable.from([bytes]), { maxBytes: 100 });
    expect(await store.commit(first)).toBe(true);
    expect(await store.commit(second)).toBe(false);
    await store.discard(first);
    await store.discard(second);
    expect(await tmpFiles()).toEqual([]);
    expect(await collectKeys()).toEqual([sha256(bytes)]);
    expect((await readAll(await store.get(sha256(bytes)))).toString()).toBe('same firmware');
  });

  it('discard drops a staged blob that was never committed', async () => {
    const staged = await store.stage(Readable.from([Buffer.from('draft')]), { maxBytes: 100 });
    await store.discard(staged);
    await store.discard(staged);
    expect(await tmpFiles()).toEqual([]);
    expect(await store.stat(staged.sha256)).toBeUndefined();
    await expect(store.commit(staged)).rejects.toThrow(/not staged here/);
  });

  it('refuses to commit twice', async () => {
    const staged = await store.stage(Readable.from([Buffer.from('once')]), { maxBytes: 100 });
    expect(await store.commit(staged)).toBe(true);
    await expect(store.commit(staged)).rejects.toThrow(/already committed/);
  });

  it.each<[string, () => Readable, number, string | RegExp]>([
    ['too large', () => Readable.from([randomBytes(600), randomBytes(600)]), 1000, 'too_large'],
    ['a source that fails midway', failingSource, 1e6, /client went away/],
  ])('a failed stage (%s) leaves no file in tmp and no blob', async (_label, source, maxBytes, failure) => {
    const staging = store.stage(source(), { maxBytes });
    if (typeof failure === 'string') await expect(staging).rejects.toMatchObject({ code: failure });
    else await expect(staging).rejects.toThrow(failure);
    expect(await tmpFiles()).toEqual([]);
    expect(await collectKeys()).toEqual([]);
  });

  it('stages an empty source as zero bytes', async () => {
    const staged = await store.stage(Readable.from([]), { maxBytes: 10 });
    expect(staged).toEqual({ sha256: sha256(Buffer.alloc(0)), md5: md5(Buffer.alloc(0)), size: 0 });
    await store.discard(staged);
  });

  describe('get with a range', () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    let key: string;

    beforeEach(async () => {
      const staged = await store.stage(Readable.from([bytes]), { maxBytes: 1000 });
      await store.commit(staged);
      key = staged.sha256;
    });

    it.each<[number, number]>([
      [0, 0],
      [0, 999],
      [999, 999],
      [1, 998],
      [250, 260],
      [500, 999],
    ])('bytes %i-%i are exactly those bytes', async (start, end) => {
      const got = await readAll(await store.get(key, { start, end }));
      expect(got.equals(bytes.subarray(start, end + 1))).toBe(true);
    });

    it('without a range gives every byte', async () => {
      expect((await readAll(await store.get(key))).equals(bytes)).toBe(true);
    });
  });

  it.each<[string, string, string]>([
    ['an unknown key', 'a'.repeat(64), 'not_found'],
    ['a path', '../../etc/passwd', 'invalid_input'],
    ['upper-case hex', 'A'.repeat(64), 'invalid_input'],
    ['a short key', 'abc', 'invalid_input'],
  ])('get of %s fails with %s', async (_label, key, code) => {
    const error = await store.get(key).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isDomainError(error, code as 'not_found')).toBe(true);
  });

  it('stat of an unknown key is undefined, delete of one is a no-op', async () => {
    expect(await store.stat('b'.repeat(64))).toBeUndefined();
    await expect(store.delete('b'.repeat(64))).resolves.toBeUndefined();
  });

  it('keys() lists every committed blob and nothing else; delete removes one', async () => {
    const contents = ['one', 'two', 'three', 'four'].map((text) => Buffer.from(text));
    for (const bytes of contents) await store.commit(await store.stage(Readable.from([bytes]), { maxBytes: 10 }));
    await store.stage(Readable.from([Buffer.from('staged only')]), { maxBytes: 100 });
    await writeFile(join(root, 'sha256', sha256(contents[0]!).slice(0, 2), 'stray.txt'), 'x');
    expect(await collectKeys()).toEqual(contents.map(sha256).sort());

    await store.delete(sha256(contents[1]!));
    expect(await collectKeys()).toEqual([contents[0]!, contents[2]!, contents[3]!].map(sha256).sort());
    expect(await store.stat(sha256(contents[1]!))).toBeUndefined();
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
