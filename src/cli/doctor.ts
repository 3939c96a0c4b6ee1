import { existsSync } from 'node:fs';
import { mkdir, open, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig, type Config } from '../config.js';
import { pendingMigrations } from '../db/migrate.js';
import { latestMigration } from '../db/migrations/index.js';
import { connectDatabase, sqlitePath } from '../db/open.js';
import { isDomainError } from '../domain/errors.js';

/**
 * One thing `fota doctor` checks: `run` resolves with what it found in words when all is well, and
 * rejects with what is wrong (and what to do) otherwise. Engines add theirs to `doctorChecks`.
 */
export interface Check {
  readonly name: string;
  run(): Promise<string>;
}

/** What `fota doctor` checks, in this order, for this configuration. */
export function doctorChecks(config: Config): Check[] {
  return [databaseCheck(config), dataDirCheck(config)];
}

/** The configured database: reachable, migrated to the latest, and its version. */
export function databaseCheck(config: Config): Check {
  const variable = config.databaseUrl === undefined ? 'FOTA_DATA_DIR' : 'FOTA_DATABASE_URL';
  return {
    name: 'database',
    async run() {
      if (config.databaseUrl === undefined && !existsSync(sqlitePath(config.dataDir))) {
        throw new Error(
          `no database at ${sqlitePath(config.dataDir)} (FOTA_DATA_DIR): \`fota migrate\` or \`fota serve\` creates it`,
        );
      }
      const database = await connectDatabase(config);
      try {
        let version: string;
        try {
          version = await database.engine.version(database.db);
        } catch (error) {
          const reason = error instanceof Error ? error.message.replace(/^the database is unavailable: /, '') : error;
          const what = isDomainError(error, 'unavailable') ? 'cannot reach' : 'cannot use';
          throw new Error(`${what} ${database.engine.name} at ${database.location} (${variable}): ${String(reason)}`, {
            cause: error,
          });
        }
        const pending = await pendingMigrations(database);
        if (pending.length > 0) {
          throw new Error(
            `${version} at ${database.location} lacks ${pending.length} migration(s) (${pending.join(', ')}): run \`fota migrate\``,
          );
        }
        return `${version} at ${database.location}, migrated to ${latestMigration}`;
      } finally {
        await database.db.destroy();
      }
    },
  };
}

/** The data folder (firmware files, and the SQLite database by default): there and writable. */
export function dataDirCheck(config: Config): Check {
  return {
    name: 'data folder',
    async run() {
      const probe = join(config.dataDir, `.doctor-${process.pid}`);
      try {
        await mkdir(config.dataDir, { recursive: true });
        const file = await open(probe, 'w');
        await file.writeFile('fota doctor');
        await file.sync();
        await file.close();
        await rm(probe);
      } catch (error) {
        throw new Error(`${config.dataDir} (FOTA_DATA_DIR) is not writable: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const stats = await statfs(config.dataDir);
      const free = (stats.bavail * stats.bsize) / 1024 ** 3;
      return `${config.dataDir} is writable, ${free.toFixed(1)} GiB free`;
    },
  };
}

/** Runs the checks one after the other, writing a line for each; true when none failed. */
export async function runChecks(checks: readonly Check[], write: (line: string) => void): Promise<boolean> {
  let problems = 0;
  for (const check of checks) {
    try {
      write(`ok       ${check.name}: ${await check.run()}`);
    } catch (error) {
      problems++;
      write(`problem  ${check.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  write(
    problems === 0
      ? 'Every check passed.'
      : `${problems} of ${checks.length} checks found a problem: fix it, then run \`fota doctor\` again.`,
  );
  return problems === 0;
}

/** `fota doctor`: checks what this configuration uses; exit code 1 when a check fails. */
export async function doctorCommand(): Promise<void> {
  const config = loadConfig(process.env);
  const passed = await runChecks(doctorChecks(config), (line) => process.stdout.write(`${line}\n`));
  if (!passed) process.exitCode = 1;
}
