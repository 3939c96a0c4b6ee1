import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../database.js';
import { openSqlite } from './open.js';

let dir: string;
let database: Database;
/** Another connection to the same file, as another worker's, that does not wait for locks. */
let other: BetterSqlite.Database;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fota-immediate-'));
  database = openSqlite(join(dir, 'fota.sqlite'));
  await sql`create table t (id integer primary key, v text)`.execute(database.db);
  other = new BetterSqlite(join(dir, 'fota.sqlite'));
  other.pragma('busy_timeout = 0');
});

afterEach(async () => {
  other.close();
  await database.db.destroy();
  await rm(dir, { recursive: true, force: true });
});

/** Whether the other connection could take the write lock now. */
function otherMayWrite(): boolean {
  try {
    other.exec('begin immediate');
    other.exec('rollback');
    return true;
  } catch (error) {
    expect((error as { code?: string }).code).toBe('SQLITE_BUSY');
    return false;
  }
}

describe('SQLite transactions', () => {
  it('take the write lock as they begin, before their first read', async () => {
    await database.db.transaction().execute(async (trx) => {
      expect(otherMayWrite()).toBe(false);
      await sql`select count(*) as n from t`.execute(trx);
      await sql`insert into t (v) values ('x')`.execute(trx);
    });
    expect(otherMayWrite()).toBe(true);
  });

  it('asked for read only, lock nothing: another connection may write meanwhile', async () => {
    await database.db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        await sql`select count(*) as n from t`.execute(trx);
        expect(otherMayWrite()).toBe(true);
      });
  });

  it('a query outside a transaction holds no lock once it returned', async () => {
    await sql`insert into t (v) values ('y')`.execute(database.db);
    expect(otherMayWrite()).toBe(true);
  });
});
