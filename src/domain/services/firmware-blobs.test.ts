import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../storage/local-blob-store.js';
import type { Firmware } from '../model.js';
import { inMemoryRepositories } from '../testing/fakes.js';
import { FirmwareBlobs } from './firmware-blobs.js';

let root: string;
let store: LocalBlobStore;
let repositories: ReturnType<typeof inMemoryRepositories>;
let blobs: FirmwareBlobs;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fota-firmware-blobs-'));
  store = new LocalBlobStore(root);
  await store.open();
  repositories = inMemoryRepositories();
  blobs = new FirmwareBlobs(store, repositories.firmwares);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function blobKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const { sha256 } of store.entries()) keys.push(sha256);
  return keys.sort();
}

function row(id: string, hash: string): Firmware {
  return {
    id,
    prototypeId: 'PAAAAAAAAAAA',
    name: id,
    version: id,
    releaseNote: '',
    fileName: 'a.bin',
    size: 1,
    md5: '0'.repeat(32),
    sha256: hash,
    prerequisites: 'all',
    createdAt: new Date(0),
  };
}

async function storeBytes(text: string): Promise<string> {
  const staged = await blobs.stage(Readable.from([Buffer.from(text)]), 100);
  await blobs.commit(staged, async () => undefined);
  return staged.sha256;
}

describe('FirmwareBlobs', () => {
  it('commit runs the record and returns its result', async () => {
    const staged = await blobs.stage(Readable.from([Buffer.from('abc')]), 100);
    const result = await blobs.commit(staged, async () => {
      await repositories.firmwares.insert(row('F1', staged.sha256), () => undefined);
      return 'recorded';
    });
    expect(result).toBe('recorded');
    expect(await blobKeys()).toEqual([sha256('abc')]);
  });

  it.each<[string, string[], string[]]>([
    ['no other firmware uses it: the blob is removed', [], []],
    ['another firmware uses it: the blob stays', ['F0'], [sha256('abc')]],
  ])('a failing record when %s', async (_label, others, keys) => {
    for (const id of others) await repositories.firmwares.insert(row(id, sha256('abc')), () => undefined);
    const staged = await blobs.stage(Readable.from([Buffer.from('abc')]), 100);
    await expect(
      blobs.commit(staged, async () => {
        throw new Error('row refused');
      }),
    ).rejects.toThrow('row refused');
    await blobs.discard(staged);
    expect(await blobKeys()).toEqual(keys);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('release deletes a blob only when no firmware refers to it', async () => {
    const hash = await storeBytes('abc');
    await repositories.firmwares.insert(row('F1', hash), () => undefined);
    await blobs.release(hash);
    expect(await blobKeys()).toEqual([hash]);
    await repositories.firmwares.delete('F1');
    await blobs.release(hash);
    expect(await blobKeys()).toEqual([]);
  });

  it('sweepUnreferenced deletes the blobs no firmware refers to, and counts them', async () => {
    const used = await storeBytes('used');
    await storeBytes('orphan 1');
    await storeBytes('orphan 2');
    await repositories.firmwares.insert(row('F1', used), () => undefined);
    const olderThan = new Date(Date.now() + 60_000);
    expect(await blobs.sweepUnreferenced({ olderThan })).toBe(2);
    expect(await blobKeys()).toEqual([used]);
    expect(await blobs.sweepUnreferenced({ olderThan })).toBe(0);
  });

  it('sweepUnreferenced keeps an unreferenced blob stored after olderThan (another node may record it yet)', async () => {
    const young = await storeBytes('just committed elsewhere');
    const old = await storeBytes('left by a crash');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(root, 'sha256', old.slice(0, 2), old), anHourAgo, anHourAgo);
    expect(await blobs.sweepUnreferenced({ olderThan: new Date(Date.now() - 600_000) })).toBe(1);
    expect(await blobKeys()).toEqual([young]);
  });

  it('commits of the same bytes run one at a time, while other bytes go ahead', async () => {
    const events: string[] = [];
    const stagedA = await blobs.stage(Readable.from([Buffer.from('same')]), 100);
    const stagedB = await blobs.stage(Readable.from([Buffer.from('same')]), 100);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const a = blobs.commit(stagedA, async () => {
      events.push('a starts');
      await held;
      events.push('a ends');
    });
    const b = blobs.commit(stagedB, async () => {
      events.push('b runs');
    });
    // Give b every chance to overtake: real file work, as long as b's own commit needs.
    const other = await blobs.stage(Readable.from([Buffer.from('other')]), 100);
    await blobs.commit(other, async () => undefined);
    release();
    await Promise.all([a, b]);
    expect(events).toEqual(['a starts', 'a ends', 'b runs']);
    await blobs.discard(stagedA);
    await blobs.discard(stagedB);
  });
});
