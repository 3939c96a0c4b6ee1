import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDomainError } from '../domain/errors.js';
import type { BlobStore } from '../domain/ports.js';

/** One store under test, with a look at the temporary place only its implementation knows. */
export interface BlobStoreHarness {
  readonly store: BlobStore;
  /** What staging holds now: temporary files, staging objects, unfinished multipart uploads. */
  staging(): Promise<string[]>;
  /** Removes what the harness made (its folder, its objects). */
  close(): Promise<void>;
}

export interface BlobStoreContractOptions {
  /** A size that spans several parts where the store uploads in parts (e.g. 12 MiB over 5 MiB parts). */
  readonly largeBytes: number;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A source that gives `before` bytes in 64 KiB chunks, then fails as a client that went away. */
function failingSource(before: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent < before) {
        const size = Math.min(64 * 1024, before - sent);
        sent += size;
        this.push(randomBytes(size));
      } else {
        this.destroy(new Error('client went away'));
      }
    },
  });
}

/** `total` random bytes in 1 MiB chunks, with the bytes to compare. */
function bigSource(total: number): { bytes: Buffer; source: () => Readable } {
  const bytes = randomBytes(total);
  const chunk = 1024 * 1024;
  return {
    bytes,
    source: () =>
      Readable.from(
        (function* () {
          for (let at = 0; at < total; at += chunk) yield bytes.subarray(at, Math.min(total, at + chunk));
        })(),
      ),
  };
}

/**
 * What every `BlobStore` does: stage with the digests, commit under the SHA-256 once, discard,
 * ranged reads, stat, delete, entries with their age, and failed stages (too large, an aborted source) that leave
 * nothing behind. Run once per implementation with a factory of fresh, empty stores.
 */
export function blobStoreContract(
  name: string,
  create: () => Promise<BlobStoreHarness>,
  options: BlobStoreContractOptions,
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let harness: BlobStoreHarness;
    let store: BlobStore;

    beforeEach(async () => {
      harness = await create();
      store = harness.store;
    });

    afterEach(async () => {
      await harness.close();
    });

    async function collectKeys(): Promise<string[]> {
      const keys: string[] = [];
      for await (const { sha256 } of store.entries()) keys.push(sha256);
      return keys.sort();
    }

    it('stages with the digests, then commits under the SHA-256', async () => {
      const bytes = randomBytes(70_000);
      const staged = await store.stage(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), {
        maxBytes: 1e6,
      });
      expect(staged).toEqual({ sha256: sha256(bytes), md5: md5(bytes), size: bytes.length });
      expect(await harness.staging()).toHaveLength(1);
      expect(await store.stat(staged.sha256)).toBeUndefined();
      expect(await collectKeys()).toEqual([]);

      expect(await store.commit(staged)).toBe(true);
      expect(await harness.staging()).toEqual([]);
      expect(await store.stat(staged.sha256)).toBe(bytes.length);
      expect(await collectKeys()).toEqual([staged.sha256]);
      expect((await readAll(await store.get(staged.sha256))).equals(bytes)).toBe(true);
    });

    it('stores a blob that spans several upload parts whole', async () => {
      const { bytes, source } = bigSource(options.largeBytes);
      const staged = await store.stage(source(), { maxBytes: options.largeBytes });
      expect(staged).toEqual({ sha256: sha256(bytes), md5: md5(bytes), size: bytes.length });
      expect(await store.commit(staged)).toBe(true);
      expect(await harness.staging()).toEqual([]);
      expect(await store.stat(staged.sha256)).toBe(bytes.length);
      expect((await readAll(await store.get(staged.sha256))).equals(bytes)).toBe(true);
      const tail = { start: bytes.length - 100_000, end: bytes.length - 1 };
      expect((await readAll(await store.get(staged.sha256, tail))).equals(bytes.subarray(tail.start))).toBe(true);
    });

    it('stores the same bytes once: the second commit is false and discard drops its copy', async () => {
      const bytes = Buffer.from('same firmware');
      const first = await store.stage(Readable.from([bytes]), { maxBytes: 100 });
      const second = await store.stage(Readable.from([bytes]), { maxBytes: 100 });
      expect(await store.commit(first)).toBe(true);
      expect(await store.commit(second)).toBe(false);
      await store.discard(first);
      await store.discard(second);
      expect(await harness.staging()).toEqual([]);
      expect(await collectKeys()).toEqual([sha256(bytes)]);
      expect((await readAll(await store.get(sha256(bytes)))).toString()).toBe('same firmware');
    });

    it('discard drops a staged blob that was never committed; commit after it is refused', async () => {
      const staged = await store.stage(Readable.from([Buffer.from('draft')]), { maxBytes: 100 });
      await store.discard(staged);
      await store.discard(staged);
      expect(await harness.staging()).toEqual([]);
      expect(await store.stat(staged.sha256)).toBeUndefined();
      await expect(store.commit(staged)).rejects.toThrow(/not staged here/);
    });

    it('refuses to commit twice', async () => {
      const staged = await store.stage(Readable.from([Buffer.from('once')]), { maxBytes: 100 });
      expect(await store.commit(staged)).toBe(true);
      await expect(store.commit(staged)).rejects.toThrow(/already committed/);
    });

    it('stages an empty source as zero bytes', async () => {
      const staged = await store.stage(Readable.from([]), { maxBytes: 10 });
      expect(staged).toEqual({ sha256: sha256(Buffer.alloc(0)), md5: md5(Buffer.alloc(0)), size: 0 });
      expect(await store.commit(staged)).toBe(true);
      expect(await store.stat(staged.sha256)).toBe(0);
      expect(await readAll(await store.get(staged.sha256))).toHaveLength(0);
    });

    it.each<[string, () => Readable, number, string | RegExp]>([
      ['too large, small', () => Readable.from([randomBytes(600), randomBytes(600)]), 1000, 'too_large'],
      [
        'too large, past several parts',
        () => bigSource(options.largeBytes).source(),
        options.largeBytes - 1,
        'too_large',
      ],
      ['a source that fails midway', () => failingSource(2048), 1e6, /client went away/],
      [
        'a source that fails past several parts',
        () => failingSource(options.largeBytes),
        2 * options.largeBytes,
        /client went away/,
      ],
    ])('a failed stage (%s) leaves nothing in staging and no blob', async (_label, source, maxBytes, failure) => {
      const staging = store.stage(source(), { maxBytes });
      if (typeof failure === 'string') await expect(staging).rejects.toMatchObject({ code: failure });
      else await expect(staging).rejects.toThrow(failure);
      expect(await harness.staging()).toEqual([]);
      expect(await collectKeys()).toEqual([]);
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

    it('entries() lists every committed blob and nothing staged; delete removes one', async () => {
      const contents = ['one', 'two', 'three', 'four'].map((text) => Buffer.from(text));
      for (const bytes of contents) await store.commit(await store.stage(Readable.from([bytes]), { maxBytes: 10 }));
      const pending = await store.stage(Readable.from([Buffer.from('staged only')]), { maxBytes: 100 });
      expect(await collectKeys()).toEqual(contents.map(sha256).sort());

      await store.delete(sha256(contents[1]!));
      expect(await collectKeys()).toEqual([contents[0]!, contents[2]!, contents[3]!].map(sha256).sort());
      expect(await store.stat(sha256(contents[1]!))).toBeUndefined();
      await store.discard(pending);
    });

    const storedAtOf = async (key: string): Promise<Date | undefined> => {
      for await (const entry of store.entries()) if (entry.sha256 === key) return entry.storedAt;
      return undefined;
    };
    // S3 gives LastModified in whole seconds, from the server's clock.
    const slackMs = 2000;

    it('entries() gives when each blob was stored, about when it was committed', async () => {
      const before = Date.now();
      const staged = await store.stage(Readable.from([Buffer.from('dated')]), { maxBytes: 100 });
      await store.commit(staged);
      const after = Date.now();
      const storedAt = await storedAtOf(staged.sha256);
      expect(storedAt).toBeInstanceOf(Date);
      expect(storedAt!.getTime()).toBeGreaterThanOrEqual(before - slackMs);
      expect(storedAt!.getTime()).toBeLessThanOrEqual(after + slackMs);
    });

    it('a commit of bytes already stored makes the blob young again', async () => {
      const bytes = Buffer.from('stored twice');
      await store.commit(await store.stage(Readable.from([bytes]), { maxBytes: 100 }));
      const first = await storedAtOf(sha256(bytes));
      // Past the next whole second, which S3's LastModified can tell apart.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const again = await store.stage(Readable.from([bytes]), { maxBytes: 100 });
      expect(await store.commit(again)).toBe(false);
      await store.discard(again);
      const second = await storedAtOf(sha256(bytes));
      expect(second!.getTime()).toBeGreaterThan(first!.getTime());
      expect((await readAll(await store.get(sha256(bytes)))).equals(bytes)).toBe(true);
    });
  });
}
