import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/db/sqlite/open.js';

/**
 * The workers of `fota serve --workers` write one SQLite file. A transaction that reads, then
 * writes, must not fail because another process wrote in between (SQLITE_BUSY_SNAPSHOT, which
 * busy_timeout cannot cure): write transactions start with BEGIN IMMEDIATE, so the second one
 * waits for the first and then reads what it wrote.
 */
let dir = '';

afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/**
 * The other process, its file open: `go()` starts its read-then-write transaction; `exited`
 * resolves with what it printed after `ready` and its exit code.
 */
async function otherProcess(file: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/sqlite-read-then-write.ts', file], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, output: output.slice(6) }));
  for (const deadline = Date.now() + 30_000; !output.startsWith('ready\n');) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the other process did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { exited, go: () => child.stdin.end('go\n') };
}

describe('SQLite transactions of two processes on one file', () => {
  it('a read-then-write transaction here and one in another process both commit, neither update lost', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fota-sqlite-workers-'));
    const file = join(dir, 'fota.sqlite');
    const { db } = openSqlite(file);
    try {
      await sql`create table counter (id integer primary key, value integer not null)`.execute(db);
      await sql`insert into counter (id, value) values (1, 0)`.execute(db);

      const other = await otherProcess(file);
      const mine = db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ value: number }>`select value from counter where id = 1`.execute(trx);
        // The other process runs its whole transaction now, between this one's read and its write;
        // or it waits while this one holds the write lock (its busy_timeout is 5 s).
        other.go();
        const timer = new Promise((resolve) => setTimeout(resolve, 1500));
        await Promise.race([other.exited, timer]);
        await sql`update counter set value = ${rows[0]!.value + 1} where id = 1`.execute(trx);
      });
      const outcome = await mine.then(
        () => 'committed',
        (error: unknown) => `failed: ${String((error as { message?: string }).message)}`,
      );
      const theirs = await other.exited;
      expect(outcome).toBe('committed');
      expect(theirs.output).toBe('wrote 2');
      expect(theirs.code).toBe(0);
      const { rows } = await sql<{ value: number }>`select value from counter where id = 1`.execute(db);
      expect(rows[0]!.value).toBe(2);
    } finally {
      await db.destroy();
    }
  }, 60_000);
});
