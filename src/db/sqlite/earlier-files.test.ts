import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrationNames } from '../migrations/index.js';
import { openDatabase, sqlitePath } from '../open.js';
import { SqlFirmwareRepository } from '../repositories/firmwares.js';
import { SqlPrototypeRepository } from '../repositories/prototypes.js';
import { SqlPushRepository } from '../repositories/pushes.js';

/** fota.sqlite as the version before PostgreSQL made it: its schema, taken from sqlite_master. */
const earlierSchema = readFileSync(new URL('./fixtures/schema-0004.sql', import.meta.url), 'utf8');

/** The tables of that schema: the tables of later migrations (0006 on) are new, and not compared. */
const earlierTables = new Set([...earlierSchema.matchAll(/^CREATE TABLE "?(\w+)"?/gm)].map((match) => match[1]));
const tableOf = (statement: string) =>
  (/^CREATE TABLE "?(\w+)"?/.exec(statement) ?? /^CREATE (?:UNIQUE )?INDEX "\w+" on "(\w+)"/.exec(statement))?.[1];

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fota-earlier-'));
});
afterEach(async () => rm(dataDir, { recursive: true, force: true }));

const schemaOf = async (db: Parameters<ReturnType<typeof sql>['execute']>[0]) =>
  (await sql<{ sql: string }>`select sql from sqlite_master where sql is not null order by name`.execute(db)).rows.map(
    (row) => row.sql,
  );

describe('SQLite files of earlier versions', () => {
  it('get the same schema from the migrations as before, statement for statement, plus the later columns', async () => {
    const database = await openDatabase({ dataDir });
    const expected = earlierSchema
      .split(';\n')
      .map((statement) => statement.replace(/^--.*\n/, '').trim())
      .filter((statement) => statement !== '' && statement !== ';')
      // 0005_linkit7681: SQLite writes an added column into the table's statement.
      .map((statement) =>
        statement.startsWith('CREATE TABLE "prototypes"')
          ? statement.replace(/\)$/, `, "board" text default 'mcs' not null)`)
          : statement,
      );
    // Later migrations' tables are left out, and their indexes on earlier tables (0008: pushes_created).
    const laterIndexes = /INDEX "pushes_created"/;
    const earlier = (await schemaOf(database.db)).filter(
      (statement) => earlierTables.has(tableOf(statement)) && !laterIndexes.test(statement),
    );
    expect(earlier).toEqual(expected);
    await database.db.destroy();
  });

  it('open with only the later migrations to apply, and their rows read back', async () => {
    const file = new BetterSqlite(sqlitePath(dataDir));
    // sqlite_sequence comes with the first autoincrement table; SQLite makes it itself.
    file.exec(earlierSchema.replace(/^CREATE TABLE sqlite_sequence.*$/m, ''));
    const applied = ['0001_initial', '0002_pushes', '0003_push_gateway', '0004_accounts'];
    for (const name of applied) {
      file
        .prepare('insert into kysely_migration (name, timestamp) values (?, ?)')
        .run(name, '2026-11-01T00:00:00.000Z');
    }
    file.exec(`
      insert into prototypes values ('P00000000001', 'board', '', 'any', 1700000000000);
      insert into firmwares values ('F00000000001', 'P00000000001', 'fw', '1', '', 'fw.bin', 6000000000,
        '${'0'.repeat(32)}', '${'1'.repeat(64)}', 1, 1700000000001);
      insert into devices values ('D0000001', 'P00000000001', 'kkkkkkkkkkkkkkkk', 'd', '', null, null, null, 1700000000002);
      insert into pushes values ('U00000000001', 'F00000000001', 'P00000000001', '1', 'admin', 1700000000003, 0, 1, 'ids');
      insert into push_targets values ('U00000000001', 'D0000001', 'sent', null, 1700000000004, null, null, null, null);
      insert into push_transitions (push_id, device_id, status, reason, at) values
        ('U00000000001', 'D0000001', 'queued', null, 1700000000003),
        ('U00000000001', 'D0000001', 'sent', null, 1700000000004);`);
    file.close();

    const database = await openDatabase({ dataDir });
    try {
      expect(database.applied).toEqual(migrationNames.filter((name) => !applied.includes(name)));
      expect(await new SqlPrototypeRepository(database.db).get('P00000000001')).toMatchObject({ board: 'mcs' });
      expect(await new SqlFirmwareRepository(database.db).get('F00000000001')).toMatchObject({
        size: 6_000_000_000,
        prerequisites: 'all',
        createdAt: new Date(1_700_000_000_001),
      });
      const pushes = new SqlPushRepository(database.db, database.engine);
      expect(await pushes.summary('U00000000001')).toMatchObject({ queueOffline: true, force: false, total: 1 });
      const [target] = await pushes.targets('U00000000001', { limit: 10 });
      expect(target!.history.map((step) => step.status)).toEqual(['queued', 'sent']);
    } finally {
      await database.db.destroy();
    }
  });
});
