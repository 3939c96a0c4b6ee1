import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDomainError } from '../domain/errors.js';
import { HashingStream, type Digests } from './hashing.js';

/** Streams `chunks` through a HashingStream and returns what came out and the digests. */
async function hashChunks(chunks: Buffer[], maxBytes: number): Promise<{ out: Buffer; digests: Digests }> {
  const hashing = new HashingStream(maxBytes);
  const received: Buffer[] = [];
  await pipeline(
    Readable.from(chunks, { objectMode: false }),
    hashing,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        callback();
      },
    }),
  );
  return { out: Buffer.concat(received), digests: hashing.digests() };
}

const expected = (bytes: Buffer): Digests => ({
  md5: createHash('md5').update(bytes).digest('hex'),
  sha256: createHash('sha256').update(bytes).digest('hex'),
  size: bytes.length,
});

/** Cuts `bytes` at the given offsets (any order, repeats allowed: those give empty chunks). */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [0, ...offsets.map((offset) => offset % (bytes.length + 1)).sort((a, b) => a - b), bytes.length];
  return points.slice(1).map((end, i) => bytes.subarray(points[i]!, end));
}

describe('HashingStream', () => {
  it.each<[string, Buffer, Digests]>([
    [
      'no bytes',
      Buffer.alloc(0),
      {
        md5: 'd41d8cd98f00b204e9800998ecf8427e',
        sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        size: 0,
      },
    ],
    [
      '"abc"',
      Buffer.from('abc'),
      {
        md5: '900150983cd24fb0d6963f7d28e17f72',
        sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
        size: 3,
      },
    ],
  ])('knows the digests of %s', async (_label, bytes, digests) => {
    expect((await hashChunks([bytes], 10)).digests).toEqual(digests);
  });

  it('gives the digests of the whole buffer, and the bytes unchanged, however it is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 4096 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (array, offsets) => {
          const bytes = Buffer.from(array);
          const { out, digests } = await hashChunks(cut(bytes, offsets), bytes.length);
          expect(out.equals(bytes)).toBe(true);
          expect(digests).toEqual(expected(bytes));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hashes a megabyte in uneven chunks', async () => {
    const bytes = randomBytes(1024 * 1024 + 17);
    const { digests } = await hashChunks(cut(bytes, [1, 65535, 65536, 500_000, 1_000_001]), 2 * 1024 * 1024);
    expect(digests).toEqual(expected(bytes));
  });

  it.each<[string, number[], number, boolean]>([
    ['exactly the limit in one chunk', [100], 100, true],
    ['exactly the limit in many chunks', [30, 30, 40], 100, true],
    ['one byte over in one chunk', [101], 100, false],
    ['one byte over in the last chunk', [50, 50, 1], 100, false],
    ['far over', [1000], 1, false],
    ['anything over a zero limit', [1], 0, false],
    ['nothing under a zero limit', [], 0, true],
  ])('%s: accepted %s', async (_label, sizes, maxBytes, accepted) => {
    const chunks = sizes.map((size) => randomBytes(size));
    const run = hashChunks(chunks, maxBytes);
    if (accepted) {
      expect((await run).digests.size).toBe(sizes.reduce((a, b) => a + b, 0));
    } else {
      const error = await run.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isDomainError(error, 'too_large')).toBe(true);
      expect((error as Error).message).toContain(`${maxBytes} bytes`);
    }
  });

  it('stops reading a source as soon as the limit is passed', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced++;
        this.push(Buffer.alloc(1024));
      },
    });
    const hashing = new HashingStream(4096);
    await expect(
      pipeline(
        endless,
        hashing,
        new Writable({
          write: (_chunk, _encoding, callback) => callback(),
        }),
      ),
    ).rejects.toMatchObject({ code: 'too_large' });
    expect(produced).toBeLessThan(100);
  });

  it('has no digests before the stream ends', () => {
    const hashing = new HashingStream(10);
    hashing.write(Buffer.from('abc'));
    expect(() => hashing.digests()).toThrow(/once the stream has ended/);
  });
});
