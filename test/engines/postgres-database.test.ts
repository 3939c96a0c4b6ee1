import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { StartError } from '../../src/config/index.js';
import type { Database } from '../../src/db/database.js';
import { migrate, pendingMigrations } from '../../src/db/migrate.js';
import { latestMigration, migrationNames } from '../../src/db/migrations/index.js';
import { connectDatabase, openDatabase } from '../../src/db/open.js';
import { isDomainError } from '../../src/domain/errors.js';
import { runFota } from '../support/fota-cli.js';
import { freePort } from '../support/server.js';
import { createDatabase, dropDatabase } from '../services/postgres.js';

const serverUrl = () => inject('postgresUrl');
const urls: string[] = [];
const opened: Database[] = [];

async function freshUrl(): Promise<string> {
  const url = await createDatabase(serverUrl());
  urls.push(url);
  return url;
}

async function open(url: string, poolSize = 4): Promise<Database & { applied: string[] }> {
  const database = await openDatabase({ dataDir: '/nonexistent', databaseUrl: url, databasePoolSize: poolSize });
  opened.push(database);
  return database;
}

async function schema(database: Database): Promise<unknown[]> {
  const { rows } = await sql`
    select table_name, column_name, data_type, collation_name, is_nullable, column_default
    from information_schema.columns where table_schema = 'public' order by table_name, column_name`.execute(
    database.db,
  );
  return rows;
}

afterAll(async () => {
  for (const database of opened) await database.db.destroy();
  for (const url of urls) await dropDatabase(url);
});

describe('migrations on PostgreSQL', () => {
  it('applies the same numbered migrations, and nothing on a second run', async () => {
    const database = await open(await freshUrl());
    expect(database.applied).toEqual([...migrationNames]);
    expect(database.applied.at(-1)).toBe(latestMigration);
    const before = await schema(database);
    expect(await migrate(database)).toEqual([]);
    expect(await pendingMigrations(database)).toEqual([]);
    expect(await schema(database)).toEqual(before);
    // Text compares byte by byte whatever the database's collation; times and sizes are bigint.
    expect(before).toContainEqual(
      expect.objectContaining({ table_name: 'devices', column_name: 'id', collation_name: 'C' }),
    );
    expect(before).toContainEqual(
      expect.objectContaining({ table_name: 'firmwares', column_name: 'size', data_type: 'bigint' }),
    );
  });

  it('lets two nodes that start at once migrate one after the other (Kysely holds an advisory lock)', async () => {
    const url = await freshUrl();
    const first = await connectDatabase({ dataDir: '/nonexistent', databaseUrl: url });
    const second = await connectDatabase({ dataDir: '/nonexistent', databaseUrl: url });
    opened.push(first, second);
    // Watch the lock being taken: a third connection sees an advisory lock while a migration runs.
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    let advisorySeen = false;
    let watching = true;
    const watching$ = (async () => {
      while (watching) {
        const { rows } = await watcher.query("select count(*)::int as n from pg_locks where locktype = 'advisory'");
        if (rows[0].n > 0) advisorySeen = true;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const results = await Promise.all([migrate(first), migrate(second)]);
    watching = false;
    await watching$;
    await watcher.end();
    expect(results.flat().sort()).toEqual([...migrationNames]);
    expect(results.some((applied) => applied.length === 0)).toBe(true);
    expect(advisorySeen).toBe(true);
    expect(await pendingMigrations(first)).toEqual([]);
  });

  it('runs two `fota migrate` processes at once on one database: both succeed, each migration applied once', async () => {
    const env = { FOTA_DATABASE_URL: await freshUrl(), FOTA_DATA_DIR: '/nonexistent' };
    const runs = await Promise.all([runFota(['migrate'], env), runFota(['migrate'], env)]);
    expect(runs.map((run) => [run.code, run.stderr])).toEqual([
      [0, ''],
      [0, ''],
    ]);
    const applied = runs.flatMap((run) => run.stdout.match(/^Applied: (.*)$/m)?.[1]?.split(', ') ?? []);
    expect(applied.sort()).toEqual([...migrationNames]);
  });

  it('reports the migrations a database lacks without applying them', async () => {
    const database = await connectDatabase({ dataDir: '/nonexistent', databaseUrl: await freshUrl() });
    opened.push(database);
    expect(await pendingMigrations(database)).toHaveLength(migrationNames.length);
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_tables where schemaname = 'public'`.execute(database.db);
    expect(rows[0]!.n).toBe(0);
  });
});

describe('durability and errors on PostgreSQL', () => {
  it('commits with synchronous_commit on, even where the database turned it off', async () => {
    const url = await freshUrl();
    const admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
    await admin.query(`alter database "${new URL(url).pathname.slice(1)}" set synchronous_commit = off`);
    await admin.end();
    const database = await open(url);
    for (let i = 0; i < 3; i++) {
      const { rows } = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(database.db);
      expect(rows[0]!.synchronous_commit).toBe('on');
    }
  });

  it("answers 'unavailable' when the server ends the connection, and recovers on the next query", async () => {
    const database = await open(await freshUrl(), 2);
    const error = await database.db
      .transaction()
      .execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        const admin = new pg.Client({ connectionString: serverUrl() });
        await admin.connect();
        await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
        await admin.end();
        await sql`select 1`.execute(trx);
      })
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    expect(isDomainError(error, 'unavailable')).toBe(true);
    expect((error as Error).message).toMatch(/^the database is unavailable: /);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.db);
    expect(rows[0]!.one).toBe(1);
  });

  it('refuses to start on a server that is not there, naming FOTA_DATABASE_URL without the password', async () => {
    const url = `postgres://fota:s3cret-pw@127.0.0.1:${await freePort()}/fota`;
    const error = await openDatabase({
      dataDir: '/nonexistent',
      databaseUrl: url,
      databaseConnectTimeoutMs: 5_000,
    }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(StartError);
    const message = (error as StartError).cliMessage;
    expect(message).toContain('FOTA_DATABASE_URL');
    expect(message).toContain('ECONNREFUSED');
    expect(message).toContain('postgres://fota:***@127.0.0.1');
    expect(message).not.toContain('s3cret-pw');
  });

  it('refuses to start on a database that does not exist, naming FOTA_DATABASE_URL', async () => {
    const url = new URL(serverUrl());
    url.pathname = '/no_such_database';
    const error = await openDatabase({ dataDir: '/nonexistent', databaseUrl: url.toString() }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(StartError);
    expect((error as StartError).cliMessage).toMatch(/FOTA_DATABASE_URL.*no_such_database.*does not exist/);
  });
});
