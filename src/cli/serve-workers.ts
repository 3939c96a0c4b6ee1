import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { openDatabase } from '../db/open.js';
import { RedisLink } from '../bus/redis/link.js';
import { StartError, type Config } from '../config/index.js';
import { SqlFirmwareRepository } from '../db/repositories/firmwares.js';
import { SqlSettingsRepository } from '../db/repositories/settings.js';
import { AdminTokens, newAdminToken } from '../domain/services/admin-tokens.js';
import { FirmwareBlobs } from '../domain/services/firmware-blobs.js';
import { lockDataDir } from '../storage/data-dir-lock.js';
import { openBlobStorage } from '../storage/blob-storage.js';

/** The most workers `--workers` starts. */
export const MAX_WORKERS = 64;
/** A worker that died on its own is replaced after this long. */
const RESTART_DELAY_MS = 1000;

/** What the primary and its workers tell each other over the IPC channel of node:cluster. */
export type PrimaryMessage =
  { readonly fota: 'start'; readonly adminToken: string | undefined } | { readonly fota: 'stop' };
export type WorkerMessage =
  { readonly fota: 'ready' } | { readonly fota: 'listening' } | { readonly fota: 'failed'; readonly message: string };

/** Reads `--workers`: a whole number from 1 to MAX_WORKERS, or a sentence saying what is wrong. */
export function parseWorkers(text: string | undefined): number {
  if (text === undefined) return 1;
  const count = Number(text);
  if (!/^\d+$/.test(text) || count < 1 || count > MAX_WORKERS) {
    throw new StartError(`--workers must be a whole number from 1 to ${MAX_WORKERS}, not "${text}"`);
  }
  return count;
}

/**
 * The primary of `fota serve --workers N`: holds the data folder (its lock, migrations, the sweep
 * of files a crash left), starts N workers that share the HTTP, TCP and MQTT ports (node:cluster
 * hands each connection to one of them) and join one cluster through Redis, replaces a worker
 * that dies, shows a generated admin token once every worker listens, and stops them all on
 * SIGINT or SIGTERM within the grace period.
 */
export async function servePrimary(
  config: Config,
  logger: Logger,
  workers: number,
  printToken: (token: string) => void,
): Promise<void> {
  if (!config.redis) {
    throw new StartError(
      `--workers ${workers} runs ${workers} nodes of one cluster, which share devices, events and rate limits through Redis: set FOTA_REDIS_URL (redis://host:port)`,
    );
  }
  const lock = lockDataDir(config.dataDir, 'stop it first, or give this server a FOTA_DATA_DIR of its own');
  const { db, applied } = await openDatabase(config, (error) =>
    logger.warn({ err: error }, 'a database connection was lost; the next query opens a new one'),
  ).catch((error: unknown) => {
    lock.release();
    throw error;
  });
  let generated: string | undefined;
  try {
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
    // Redis is checked once here, so that an unreachable one is one line, not one per worker.
    await (await RedisLink.open(config.redis.url, undefined, () => undefined)).close();
    const storage = await openBlobStorage(config, logger);
    const swept = await new FirmwareBlobs(storage.store, new SqlFirmwareRepository(db))
      .sweepUnreferenced({ olderThan: new Date(Date.now() - config.blobSweepMinAgeMs) })
      .finally(() => storage.close());
    if (swept > 0) logger.warn({ blobs: swept }, 'removed firmware files that no firmware refers to');
    const tokens = new AdminTokens(new SqlSettingsRepository(db));
    if (config.adminToken === undefined && !(await tokens.isStored())) generated = newAdminToken();
  } catch (error) {
    await db.destroy();
    lock.release();
    throw error;
  }

  let stopping = false;
  let exitCode = 0;
  const live = new Set<Worker>();
  /** Workers that listen (and handle the primary's stop); the others still start. */
  const serving = new Set<Worker>();
  const fork = (adminToken: string | undefined): Promise<void> => {
    const worker = cluster.fork();
    live.add(worker);
    return new Promise((resolve, reject) => {
      worker.on('message', (message: WorkerMessage) => {
        // A message sent before the worker listens for it would be lost: it asks when it listens.
        if (message.fota === 'ready') worker.send({ fota: 'start', adminToken } satisfies PrimaryMessage);
        else if (message.fota === 'listening') {
          serving.add(worker);
          resolve();
          if (stopping) worker.send({ fota: 'stop' } satisfies PrimaryMessage);
        } else if (message.fota === 'failed') reject(new StartError(message.message));
      });
      worker.on('exit', (code, signal) => {
        live.delete(worker);
        const wasServing = serving.delete(worker);
        reject(new StartError(`a worker stopped while starting (${signal ?? `exit code ${code}`})`));
        if (stopping) {
          // A worker cut at the end of its grace period makes the whole stop a failed one (one
          // still starting was ended on purpose).
          if (wasServing && code !== 0) exitCode = 1;
          if (live.size === 0) finish(exitCode);
          return;
        }
        logger.error({ worker: worker.process.pid, code, signal }, 'a worker died: starting another');
        setTimeout(() => {
          if (!stopping) fork(undefined).catch((error: unknown) => logger.error({ err: error }, 'worker failed'));
        }, RESTART_DELAY_MS).unref();
      });
    });
  };
  const finish = (code: number) => {
    void db.destroy().finally(() => {
      lock.release();
      process.exit(code);
    });
  };

  const graceSeconds = config.shutdownGraceMs / 1000;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: stopping the workers now');
      for (const worker of live) worker.process.kill('SIGKILL');
      return;
    }
    stopping = true;
    logger.info(
      { signal, graceSeconds, workers: live.size },
      `stopping ${live.size} workers: requests in flight get up to ${graceSeconds} s to finish (FOTA_SHUTDOWN_GRACE_S)`,
    );
    // One that still starts has nothing in flight: it ends at once.
    for (const worker of live) {
      if (!serving.has(worker)) worker.process.kill('SIGTERM');
      else if (worker.isConnected()) worker.send({ fota: 'stop' } satisfies PrimaryMessage);
    }
    // The workers exit on their own at the end of the grace period; this is for one that hangs.
    setTimeout(() => {
      for (const worker of live) worker.process.kill('SIGKILL');
      finish(1);
    }, config.shutdownGraceMs + 2000).unref();
    if (live.size === 0) finish(exitCode);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  try {
    await Promise.all(Array.from({ length: workers }, () => fork(generated)));
  } catch (error) {
    // Stopped by a signal while starting: the exit handlers finish.
    if (stopping) return;
    stopping = true;
    for (const worker of live) worker.process.kill('SIGTERM');
    await db.destroy();
    lock.release();
    throw error;
  }
  if (stopping) return;
  // Stored only now that every worker listens, so a start that fails loses no token.
  if (generated !== undefined) {
    await new AdminTokens(new SqlSettingsRepository(db)).store(generated);
    printToken(generated);
  }
  logger.info({ workers, pid: process.pid }, `fota is serving with ${workers} workers`);
}

/** In a worker: waits for the primary's word to start; resolves to the admin token it hands over. */
export function primaryStart(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const onMessage = (message: PrimaryMessage) => {
      if (message.fota !== 'start') return;
      process.off('message', onMessage);
      resolve(message.adminToken);
    };
    process.on('message', onMessage);
    tellPrimary({ fota: 'ready' });
  });
}

/** In a worker: calls `stop` when the primary says stop, or goes away. */
export function onPrimaryStop(stop: () => void): void {
  process.on('message', (message: PrimaryMessage) => {
    if (message.fota === 'stop') stop();
  });
  process.on('disconnect', stop);
  if (!process.connected) stop();
}

export const tellPrimary = (message: WorkerMessage): void => {
  if (process.send) process.send(message);
};
