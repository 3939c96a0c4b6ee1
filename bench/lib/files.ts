import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FilePart } from './multipart.js';
import { endedChildrenCpuSeconds } from './proc.js';

const CHUNK = 1024 * 1024;

/** Writes `size` random bytes to `path`, one MiB at a time. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let written = 0; written < size; written += CHUNK) {
      yield randomFillSync(Buffer.allocUnsafe(Math.min(CHUNK, size - written)));
    }
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
}

/** SHA-256 of a file, or of the bytes `start`..`end` (inclusive) of it. */
export async function sha256OfFile(path: string, range?: { start: number; end: number }): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, range ?? {})) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A file on disk as the file part of an upload, streamed when sent. */
export async function fileOnDisk(path: string): Promise<FilePart> {
  const { size } = await stat(path);
  return { fileName: basename(path), size, open: () => createReadStream(path, { highWaterMark: 256 * 1024 }) };
}

/** A small buffer as the file part of an upload. */
export function fileInMemory(fileName: string, bytes: Buffer): FilePart {
  return { fileName, size: bytes.length, open: () => Readable.from([bytes]) };
}

/**
 * Runs `command file` (md5sum, sha256sum) and answers its wall time, its CPU time and the digest it
 * printed. The child is not tracked for cleanup: it ends by itself within seconds, and `timeout`
 * bounds it.
 */
export function timeDigestCommand(
  command: string,
  file: string,
): Promise<{ seconds: number; cpuSeconds: number; digest: string }> {
  return new Promise((resolve, reject) => {
    const cpuBefore = endedChildrenCpuSeconds();
    const start = performance.now();
    execFile(command, [file], { timeout: 120_000 }, (error, stdout) => {
      const seconds = (performance.now() - start) / 1000;
      if (error) {
        reject(new Error(`${command} failed: ${error.message}`));
        return;
      }
      // The child is reaped before this callback runs, so its CPU time is in cutime and cstime now.
      const cpuSeconds = endedChildrenCpuSeconds() - cpuBefore;
      resolve({ seconds, cpuSeconds, digest: stdout.trim().split(/\s+/)[0] ?? '' });
    });
  });
}
