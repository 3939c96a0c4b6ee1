import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DomainError, notFound } from '../domain/errors.js';
import type { BlobStore, ByteRange, StagedBlob, StoredBlob } from '../domain/ports.js';
import { HashingStream } from './hashing.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Blobs as files under `root/sha256/ab/abcdef…`, named by their SHA-256 and never by anything a user
 * typed. Staging writes to `root/tmp`, flushes to disk, and a commit renames into place and flushes
 * the directory (and the parent of a folder it had to create), so a blob is either whole under its
 * name or absent, after a power cut too.
 */
export class LocalBlobStore implements BlobStore {
  private readonly staged = new WeakMap<StagedBlob, string>();
  private readonly tmpDir: string;
  private readonly blobDir: string;

  constructor(root: string) {
    this.tmpDir = join(root, 'tmp');
    this.blobDir = join(root, 'sha256');
  }

  /**
   * Creates the folders and removes temporary files a crash left behind; `clean: false` leaves them
   * (a worker of `fota serve --workers`, whose siblings may be uploading).
   */
  async open(options: { readonly clean: boolean } = { clean: true }): Promise<void> {
    if (options.clean) await rm(this.tmpDir, { recursive: true, force: true });
    await createDirectory(this.tmpDir);
    await createDirectory(this.blobDir);
  }

  async stage(source: Readable, options: { readonly maxBytes: number }): Promise<StagedBlob> {
    const path = join(this.tmpDir, `${randomUUID()}.part`);
    const hashing = new HashingStream(options.maxBytes);
    const file = await open(path, 'wx');
    try {
      // The stream fsyncs (`flush`) and closes the file before the pipeline resolves. A stream with
      // `autoClose: false` would keep its hold on the handle, and `file.close()` would never settle.
      await pipeline(source, hashing, file.createWriteStream({ flush: true }));
    } catch (error) {
      await file.close();
      await rm(path, { force: true });
      throw error;
    }
    const staged: StagedBlob = hashing.digests();
    this.staged.set(staged, path);
    return staged;
  }

  async commit(staged: StagedBlob): Promise<boolean> {
    const tmpPath = this.staged.get(staged);
    if (tmpPath === undefined) throw new Error('this blob was not staged here or was already committed');
    const target = this.pathOf(staged.sha256);
    if ((await this.stat(staged.sha256)) !== undefined) {
      // Stored already: young again, so that no sweep takes it before its new row is written.
      const now = new Date();
      await utimes(target, now, now);
      return false;
    }
    const folder = join(this.blobDir, staged.sha256.slice(0, 2));
    await createDirectory(folder);
    await rename(tmpPath, target);
    this.staged.delete(staged);
    await syncDirectory(folder);
    return true;
  }

  async discard(staged: StagedBlob): Promise<void> {
    const tmpPath = this.staged.get(staged);
    if (tmpPath === undefined) return;
    this.staged.delete(staged);
    await rm(tmpPath, { force: true });
  }

  async get(sha256: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(sha256);
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? notFound(`no blob ${sha256}`) : error;
    });
    // 256 KiB reads: a quarter of the system calls of the 64 KiB default for the same bytes.
    const highWaterMark = 256 * 1024;
    return handle.createReadStream(range ? { start: range.start, end: range.end, highWaterMark } : { highWaterMark });
  }

  async stat(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  async *entries(): AsyncIterable<StoredBlob> {
    for (const folder of await readdir(this.blobDir)) {
      for (const name of await readdir(join(this.blobDir, folder))) {
        if (!SHA256_HEX.test(name)) continue;
        const stored = await stat(join(this.blobDir, folder, name)).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined; // deleted since the folder was read
          throw error;
        });
        if (stored) yield { sha256: name, storedAt: stored.mtime };
      }
    }
  }

  private pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new DomainError('invalid_input', 'a blob key is a SHA-256 in lowercase hex');
    return join(this.blobDir, sha256.slice(0, 2), sha256);
  }
}

/**
 * Creates a folder and the missing ones above it, and flushes the parent of each folder created:
 * a new folder's name lives in its parent, and without that flush a power cut can lose the folder
 * with every file renamed into it.
 */
async function createDirectory(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  for (let created = path; ; created = dirname(created)) {
    await syncDirectory(dirname(created));
    if (created === first) break;
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
