import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fota-fsync-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('a committed blob survives a power cut', () => {
  it('flushes the file, its folder, and the parent of every folder it created (seen with strace)', async () => {
    const root = join(dir, 'blobs');
    const trace = join(dir, 'trace.txt');
    // strace -y prints the path of each descriptor, so the fsync calls name what they flushed.
    const run = spawnSync(
      'strace',
      [
        '-f',
        '-y',
        '-e',
        'trace=fsync,fdatasync',
        '-o',
        trace,
        process.execPath,
        '--import',
        'tsx',
        'test/support/commit-one-blob.ts',
        root,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const sha256 = run.stdout;
    const flushed = [...(await readFile(trace, 'utf8')).matchAll(/f(?:data)?sync\(\d+<([^>]+)>\)\s+= 0/g)].map(
      (match) => match[1],
    );
    // The blob's bytes, then the folder it was renamed into.
    expect(flushed.some((path) => path!.startsWith(join(root, 'tmp')))).toBe(true);
    expect(flushed).toContain(join(root, 'sha256', sha256.slice(0, 2)));
    // The folders created on the way: `sha256/ab` in `sha256`, `sha256` and `tmp` in the root,
    // the root in its parent.
    expect(flushed).toContain(join(root, 'sha256'));
    expect(flushed).toContain(root);
    expect(flushed).toContain(dir);
  });
});
