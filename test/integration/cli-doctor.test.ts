import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFota } from '../support/fota-cli.js';
import { latestMigration } from '../../src/db/migrations/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fota-doctor-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('fota doctor on SQLite', () => {
  it('finds no database in a new folder, says to run fota migrate, and exits 1', async () => {
    const dataDir = join(dir, 'new');
    const run = await runFota(['doctor'], { FOTA_DATA_DIR: dataDir });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `problem  database: no database at ${join(dataDir, 'fota.sqlite')} (FOTA_DATA_DIR): \`fota migrate\` or \`fota serve\` creates it\n`,
    );
    expect(run.stdout).toMatch(new RegExp(`ok       data folder: ${dataDir} is writable, \\d+\\.\\d GiB free\\n`));
    expect(run.stdout).toMatch(/1 of 2 checks found a problem/);
  });

  it('passes every check once the database is migrated, naming its version', async () => {
    const dataDir = join(dir, 'migrated');
    expect((await runFota(['migrate'], { FOTA_DATA_DIR: dataDir })).code).toBe(0);
    const run = await runFota(['doctor'], { FOTA_DATA_DIR: dataDir });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(
      new RegExp(
        `^ok       database: SQLite 3\\.\\d+\\.\\d+ at ${join(dataDir, 'fota.sqlite')}, migrated to ${latestMigration}\\n`,
      ),
    );
    expect(run.stdout).toMatch(/Every check passed\.\n$/);
    expect(run.code).toBe(0);
  });

  it('says a data folder that cannot be written is a problem', async () => {
    const notAFolder = join(dir, 'file');
    await writeFile(notAFolder, 'not a folder');
    const run = await runFota(['doctor'], { FOTA_DATA_DIR: notAFolder });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`problem  data folder: ${notAFolder} (FOTA_DATA_DIR) is not writable: `);
    expect(run.stdout).toMatch(/2 of 2 checks found a problem/);
  });
});
