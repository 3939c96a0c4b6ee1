import { existsSync } from 'node:fs';
import { mkdir, open, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig, type Config } from '../config/index.js';
import { pendingMigrations } from '../db/migrate.js';
import { latestMigration } from '../db/migrations/index.js';
import { connectDatabase, sqlitePath } from '../db/open.js';
import { isDomainError } from '../domain/errors.js';
import { redisChecks } from './doctor-redis.js';
import { s3Check } from './doctor-s3.js';

/**
 * One thing `fota doctor` checks: `run` resolves with what it found in words when all is well (or
 * with a warning that fails nothing), and rejects with what is wrong (and what to do) otherwise.
 * A check that `needs` another is skipped when that one found a problem. Engines add theirs to
 * `doctorChecks`.
 */
export interface Check {
  readonly name: string;
  readonly needs?: string;
  run(): Promise<string | Finding>;
}

/** What a check found beyond a line of text: a warning, or details for `--json`. */
export interface Finding {
  readonly text: string;
  readonly warning?: boolean;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type CheckStatus = 'ok' | 'warning' | 'problem' | 'skipped';

/** One check's outcome, as `--json` prints it. */
export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What `fota doctor` checks, in this order, for this configuration. */
export function doctorChecks(config: Config): Check[] {
  return [
    databaseCheck(config),
    dataDirCheck(config),
    ...(config.blobStorage.kind === 's3' ? [s3Check(config.blobStorage.s3, config.downloads)] : []),
    ...(config.redis ? redisChecks(config.redis) : []),
  ];
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

/** Runs the checks one after the other, calling `report` with each outcome as it comes. */
export async function runChecks(
  checks: readonly Check[],
  report: (result: CheckResult) => void = () => undefined,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    let result: CheckResult;
    const needed = results.find((earlier) => earlier.name === check.needs);
    if (needed !== undefined && (needed.status === 'problem' || needed.status === 'skipped')) {
      result = { name: check.name, status: 'skipped', message: `not checked: ${needed.name} found a problem` };
    } else {
      try {
        const found = await check.run();
        const finding = typeof found === 'string' ? { text: found } : found;
        result = {
          name: check.name,
          status: finding.warning ? 'warning' : 'ok',
          message: finding.text,
          ...(finding.details ? { details: finding.details } : {}),
        };
      } catch (error) {
        result = {
          name: check.name,
          status: 'problem',
          message: error instanceof Error ? error.message : String(error),
        };
      }
    }
    results.push(result);
    report(result);
  }
  return results;
}

/** A result as one line: the status padded, the check's name, what it found. */
export const resultLine = (result: CheckResult): string =>
  `${result.status.padEnd(9)}${result.name}: ${result.message}`;

/** The last line: every check passed, or how many found a problem. */
export function verdictLine(results: readonly CheckResult[]): string {
  const problems = results.filter((result) => result.status === 'problem').length;
  return problems === 0
    ? 'Every check passed.'
    : `${problems} of ${results.length} checks found a problem: fix it, then run \`fota doctor\` again.`;
}

/**
 * `fota doctor`: checks what this configuration uses, a line for each as it goes (or, with
 * `--json`, one JSON document at the end); exit code 1 when a check found a problem.
 */
export async function doctorCommand(options: { json?: boolean } = {}): Promise<void> {
  const config = loadConfig(process.env);
  const results = await runChecks(doctorChecks(config), (result) => {
    if (!options.json) process.stdout.write(`${resultLine(result)}\n`);
  });
  const passed = results.every((result) => result.status !== 'problem');
  if (options.json) process.stdout.write(`${JSON.stringify({ passed, checks: results })}\n`);
  else process.stdout.write(`${verdictLine(results)}\n`);
  if (!passed) process.exitCode = 1;
}
