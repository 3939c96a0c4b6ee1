import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Db } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { openDatabase } from '../../src/db/open.js';
import { SqlFirmwareRepository } from '../../src/db/repositories/firmwares.js';
import { SqlPushRepository } from '../../src/db/repositories/pushes.js';
import type { Firmware } from '../../src/domain/model.js';

let dir: string;
let database: Database;
let db: Db;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fota-db-'));
  database = await openDatabase({ dataDir: dir });
  ({ db } = database);
});
afterAll(async () => {
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

async function schema(): Promise<string[]> {
  const rows = await sql<{ sql: string }>`select sql from sqlite_master where sql is not null order by name`.execute(
    db,
  );
  return rows.rows.map((row) => row.sql);
}

describe('migrations', () => {
  it('applies every migration on a new database and nothing on a second run', async () => {
    const before = await schema();
    expect(before.join('\n')).toContain('CREATE TABLE "push_targets"');
    expect(await migrate(database)).toEqual([]);
    expect(await schema()).toEqual(before);
  });

  it('reopens an existing database without migrating again', async () => {
    const again = await openDatabase({ dataDir: dir });
    expect(again.applied).toEqual([]);
    await again.db.destroy();
  });
});

describe('durability', () => {
  it('flushes every commit to disk before it returns (WAL with synchronous=FULL)', async () => {
    const journal = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db);
    expect(journal.rows[0]!.journal_mode).toBe('wal');
    // 2 is FULL: with WAL, NORMAL (1) lets a power cut lose the last commits, such as a key rotation.
    const synchronous = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(db);
    expect(synchronous.rows[0]!.synchronous).toBe(2);
  });

  it('answers a firmware insert as stored once its transaction commits, even when a checkpoint would fail', async () => {
    await db
      .insertInto('prototypes')
      .values({
        id: 'P00000000002',
        name: 'p',
        description: '',
        version_policy: 'any',
        board: 'mcs',
        created_at: Date.now(),
      })
      .execute();
    // The real database, with every WAL checkpoint failing as on a full disk.
    const failingCheckpoints = db.withPlugin({
      transformQuery: ({ node }) => {
        if (JSON.stringify(node).includes('wal_checkpoint')) throw new Error('SQLITE_FULL: database or disk is full');
        return node;
      },
      transformResult: async ({ result }) => result,
    });
    const firmwares = new SqlFirmwareRepository(failingCheckpoints);
    const firmware: Firmware = {
      id: 'F00000000002',
      prototypeId: 'P00000000002',
      name: 'n',
      version: '1',
      releaseNote: '',
      fileName: 'fw.bin',
      size: 1,
      md5: '0'.repeat(32),
      sha256: '0'.repeat(64),
      prerequisites: 'all',
      createdAt: new Date(1_700_000_000_000),
    };
    await expect(firmwares.insert(firmware, () => undefined)).resolves.toEqual(firmware);
    expect(await new SqlFirmwareRepository(db).get(firmware.id)).toEqual(firmware);
  });
});

describe('push targets move by compare-and-set', () => {
  it('moves a target only from the status it is in, and records each move once', async () => {
    const now = Date.now();
    await db
      .insertInto('prototypes')
      .values({ id: 'P00000000001', name: 'p', description: '', version_policy: 'any', board: 'mcs', created_at: now })
      .execute();
    await db
      .insertInto('devices')
      .values({
        id: 'D0000001',
        prototype_id: 'P00000000001',
        device_key: 'k'.repeat(16),
        name: 'd',
        description: '',
        reported_firmware_id: null,
        reported_version: null,
        reported_at: null,
        created_at: now,
      })
      .execute();
    const pushes = new SqlPushRepository(db, database.engine);
    const at = new Date(now);
    await pushes.insert(
      {
        id: 'U00000000001',
        firmwareId: 'F00000000001',
        prototypeId: 'P00000000001',
        version: '1',
        createdBy: 'admin',
        createdAt: at,
        force: false,
        queueOffline: false,
        selection: 'ids',
      },
      [{ deviceId: 'D0000001', status: 'queued', reason: undefined, deadline: undefined, tokenHash: 'h'.repeat(64) }],
      at,
    );
    const move = (status: 'sent' | 'failed') => ({
      pushId: 'U00000000001',
      deviceId: 'D0000001',
      from: 'queued' as const,
      to: { status, reason: status, at },
      deadline: undefined,
    });
    const moves = (
      await Promise.all([pushes.moveTargets([move('sent')]), pushes.moveTargets([move('failed')])])
    ).flat();
    expect(moves.filter(Boolean)).toHaveLength(1);
    const [target] = await pushes.targets('U00000000001', { limit: 10 });
    expect(target!.history.map((step) => step.status)).toEqual(['queued', moves[0] ? 'sent' : 'failed']);
    expect((await pushes.targetByToken('h'.repeat(64)))?.deviceId).toBe('D0000001');
    expect(await pushes.activeTargets(['D0000001'])).toHaveLength(moves[0] ? 1 : 0);
    // In one batch, the second move of the same target finds it moved already.
    const batch = await pushes.moveTargets([
      { ...move('sent'), from: 'sent', to: { status: 'delivered', reason: undefined, at } },
      { ...move('sent'), from: 'sent', to: { status: 'failed', reason: undefined, at } },
    ]);
    expect(batch).toEqual(moves[0] ? [true, false] : [false, false]);
  });
});
