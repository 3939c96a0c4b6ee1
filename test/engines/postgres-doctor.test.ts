import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { latestMigration, migrationNames } from '../../src/db/migrations/index.js';
import { runFota } from '../support/fota-cli.js';
import { freePort } from '../support/server.js';
import { createDatabase, dropDatabase } from '../services/postgres.js';

let dataDir: string;
let databaseUrl: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fota-doctor-'));
  databaseUrl = await createDatabase(inject('postgresUrl'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await dropDatabase(databaseUrl);
});

describe('fota doctor on PostgreSQL', () => {
  it('says which migrations a new database lacks, then passes once `fota migrate` ran', async () => {
    const env = { FOTA_DATA_DIR: dataDir, FOTA_DATABASE_URL: databaseUrl };
    const before = await runFota(['doctor'], env);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(
      new RegExp(
        `^problem {2}database: PostgreSQL 1\\d\\.\\d+[^\\n]* at postgres://fota@127\\.0\\.0\\.1:\\d+/fota_\\w+ lacks ${migrationNames.length} migration\\(s\\) \\(${migrationNames.join(', ')}\\): run \`fota migrate\`\\n`,
      ),
    );
    expect((await runFota(['migrate'], env)).stdout).toContain('Applied: 0001_initial');
    const after = await runFota(['doctor'], env);
    expect(after.stdout).toMatch(
      new RegExp(`^ok {7}database: PostgreSQL 1\\d\\.\\d+[^\\n]* at \\S+, migrated to ${latestMigration}\\n`),
    );
    expect(after.code).toBe(0);
  });

  it('says a server it cannot reach is a problem, naming FOTA_DATABASE_URL without the password', async () => {
    const run = await runFota(['doctor'], {
      FOTA_DATA_DIR: dataDir,
      FOTA_DATABASE_URL: `postgres://fota:s3cret-pw@127.0.0.1:${await freePort()}/fota`,
      FOTA_DATABASE_CONNECT_TIMEOUT_S: '5',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^problem {2}database: cannot reach PostgreSQL at postgres:\/\/fota:\*\*\*@127\.0\.0\.1:\d+\/fota \(FOTA_DATABASE_URL\): .*ECONNREFUSED/,
    );
    expect(run.stdout + run.stderr).not.toContain('s3cret-pw');
    expect(run.stdout).toContain('ok       data folder:');
  });
});
