import { readdirSync, readFileSync } from 'node:fs';
import { createDatabase, startPostgres, type PostgresServer } from '../../test/services/postgres.js';
import { startRedis, type RedisServer } from '../../test/services/redis.js';
import { startS3Server, type S3Server } from '../../test/services/s3.js';
import { progress } from '../lib/report.js';
import { treeCpuWithReapedSeconds } from '../lib/proc.js';
import { listeningPorts } from '../lib/sockets.js';

/**
 * The engines the nodes share, from the engines tier's starters (test/services): throwaway servers
 * on free loopback ports, each guarded so that it dies with the bench process however it ends.
 */
export interface Engines {
  readonly postgres: PostgresServer;
  readonly redis: RedisServer;
  /** Started only for the part that needs it (the three separate nodes). */
  s3: S3Server | undefined;
  /** CPU seconds so far of PostgreSQL (postmaster and backends, ended ones too), redis-server and Swift. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** The process named `comm` that listens on `port` (the starters do not hand out their server's pid). */
function listenerPid(comm: string, port: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== comm) continue;
    } catch {
      continue;
    }
    if (listeningPorts(Number(name)).includes(port)) return Number(name);
  }
  return undefined;
}

export async function startEngines(): Promise<Engines> {
  progress('engines: starting PostgreSQL and Redis (test/services)');
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const postgresPid = listenerPid('postgres', Number(new URL(postgres.url).port));
  const redisPid = listenerPid('redis-server', redis.port);
  const engines: Engines = {
    postgres,
    redis,
    s3: undefined,
    cpuSeconds: () =>
      treeCpuWithReapedSeconds([
        ...(postgresPid === undefined ? [] : [postgresPid]),
        ...(redisPid === undefined ? [] : [redisPid]),
        ...(engines.s3?.pids ?? []),
      ]),
    async stop() {
      await Promise.all([postgres.stop(), redis.stop(), engines.s3?.stop()].map((p) => p?.catch(() => undefined)));
    },
  };
  return engines;
}

export async function startS3(engines: Engines): Promise<S3Server> {
  if (engines.s3) return engines.s3;
  progress('engines: starting OpenStack Swift with s3api (test/services/s3.ts)');
  engines.s3 = await startS3Server();
  return engines.s3;
}

/** A fresh database on the bench's PostgreSQL, one per configuration, so that runs do not mix. */
export const freshDatabase = (engines: Engines): Promise<string> => createDatabase(engines.postgres.url);
