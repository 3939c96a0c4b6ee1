import { Redis } from 'ioredis';
import { redactUrl, type RedisConfig } from '../config/index.js';
import { keys, PREFIX } from '../bus/redis/keys.js';
import type { Check, Finding } from './doctor.js';

/**
 * The oldest Redis fota works with: the presence writes set several hash fields in one HSET
 * (Redis 4.0); everything else it sends (EVAL, SET … PX, PEXPIRE, SADD, PUBLISH, SUBSCRIBE, TIME,
 * SCAN) is older. ioredis falls back from RESP3 (HELLO, Redis 6) to RESP2 on its own. CI runs 7.0.
 */
export const MIN_REDIS_VERSION = '4.0.0';

/** How long each step of the Redis checks (connect, a command) may take. */
export const REDIS_CHECK_TIMEOUT_MS = 5000;

/** Past this difference between this machine's clock and Redis's, the clock check warns. */
export const MAX_CLOCK_SKEW_MS = 2000;

/**
 * The Redis checks: reachable and new enough, its clock near this machine's, and the nodes whose
 * liveness key (`fota:node:<id>`) it holds. One connection serves the three.
 */
export function redisChecks(config: RedisConfig): Check[] {
  const where = `Redis at ${redactUrl(config.url)} (FOTA_REDIS_URL)`;
  let connection: Promise<Redis> | undefined;
  const connected = () => (connection ??= connectRedis(config.url, where));
  const done = async () => (await connection?.catch(() => undefined))?.disconnect();
  return [
    {
      name: 'Redis',
      async run() {
        try {
          const redis = await connected();
          const started = performance.now();
          await redis.ping();
          const pingMs = performance.now() - started;
          const version = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown';
          if (!versionAtLeast(version, MIN_REDIS_VERSION)) {
            throw new Error(
              `${where} is Redis ${version}; fota needs ${MIN_REDIS_VERSION} or newer (HSET with several fields)`,
            );
          }
          return `Redis ${version} at ${redactUrl(config.url)}, answered PING in ${Math.max(1, Math.round(pingMs))} ms`;
        } catch (error) {
          await done();
          throw error;
        }
      },
    },
    {
      name: 'Redis clock',
      needs: 'Redis',
      async run() {
        const redis = await connected();
        const before = Date.now();
        const [seconds, micros] = await redis.time();
        const after = Date.now();
        return clockFinding(Number(seconds) * 1000 + Number(micros) / 1000 - (before + after) / 2);
      },
    },
    {
      name: 'cluster nodes',
      needs: 'Redis',
      async run() {
        try {
          return nodesFinding(await liveNodes(await connected()), Date.now());
        } finally {
          await done();
        }
      },
    },
  ];
}

/** A node that refreshed its liveness key `refreshedAt` (its own clock, ms) and expires in `ttlMs`. */
export interface LiveNode {
  readonly id: string;
  readonly refreshedAt: number | undefined;
  readonly ttlMs: number;
}

/** What the clock check says of a difference (Redis's clock minus this machine's, ms). */
export function clockFinding(skewMs: number): Finding {
  const seconds = (Math.abs(skewMs) / 1000).toFixed(1);
  const side = skewMs > 0 ? 'behind' : 'ahead of';
  if (Math.abs(skewMs) <= MAX_CLOCK_SKEW_MS) {
    return { text: `this machine's clock is within ${seconds} s of Redis's`, details: { skewMs: Math.round(skewMs) } };
  }
  return {
    warning: true,
    text:
      `this machine's clock is ${seconds} s ${side} Redis's (more than ${MAX_CLOCK_SKEW_MS / 1000} s): ` +
      "the nodes' clocks must agree (presence times, events and push timeouts are compared across nodes; " +
      'presigned URLs carry the time): run NTP (systemd-timesyncd, chrony) on every node and on the Redis host',
    details: { skewMs: Math.round(skewMs) },
  };
}

/** The live nodes in words, ids first, with how long ago each refreshed its liveness. */
export function nodesFinding(nodes: readonly LiveNode[], now: number): Finding {
  const details = { nodes: nodes.map(({ id, refreshedAt, ttlMs }) => ({ id, refreshedAt, ttlMs })) };
  if (nodes.length === 0) {
    return {
      text: 'no live node in Redis (no `fota serve` with this FOTA_REDIS_URL runs, or none has joined yet)',
      details,
    };
  }
  const described = nodes.map(({ id, refreshedAt }) =>
    refreshedAt === undefined ? id : `${id} (refreshed ${Math.max(0, Math.round((now - refreshedAt) / 1000))} s ago)`,
  );
  return { text: `${nodes.length} live node${nodes.length === 1 ? '' : 's'}: ${described.join(', ')}`, details };
}

/** The nodes whose liveness key exists, sorted by id. */
async function liveNodes(redis: Redis): Promise<LiveNode[]> {
  const pattern = keys.node('*');
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const key of batch) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  const nodes: LiveNode[] = [];
  for (const key of [...found].sort()) {
    const id = key.slice(`${PREFIX}node:`.length);
    // Keys of another shape (none today) under the same prefix are not liveness keys.
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) continue;
    const [value, ttlMs] = await Promise.all([redis.get(key), redis.pttl(key)]);
    if (value === null || ttlMs === -2) continue;
    const refreshedAt = value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
    nodes.push({ id, refreshedAt, ttlMs });
  }
  return nodes;
}

/** Connects, failing in words: refused, timed out, a refused password, or not Redis at all. */
async function connectRedis(url: string, where: string): Promise<Redis> {
  let last: unknown;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: REDIS_CHECK_TIMEOUT_MS,
    commandTimeout: REDIS_CHECK_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', (error: unknown) => (last = error));
  try {
    await redis.connect();
    return redis;
  } catch (error) {
    redis.disconnect();
    // ioredis rejects with "Connection is closed."; the reason is the last error it emitted.
    const reason = last ?? error;
    throw new Error(connectProblem(where, reason), { cause: error });
  }
}

/** Why a connection failed, and what to change. */
export function connectProblem(where: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | undefined)?.code;
  if (message.startsWith('WRONGPASS') || message.includes('invalid password')) {
    return `${where} refused the password: put the right one in FOTA_REDIS_URL (redis://:password@host:port, or redis://user:password@host:port for an ACL user) (${message})`;
  }
  if (message.startsWith('NOAUTH')) {
    return `${where} wants a password and the URL has none: put it in FOTA_REDIS_URL (redis://:password@host:port)`;
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return `cannot reach ${where}: ${message}; check the host and port, and that redis-server runs and listens there`;
  }
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(message)) {
    return `cannot reach ${where}: no answer within ${REDIS_CHECK_TIMEOUT_MS / 1000} s (a firewall, or a wrong host)`;
  }
  if (/Unknown RESP type|Protocol error/i.test(message)) {
    return `${where} does not answer as Redis does (${message}): is the port that of another server, or does it need rediss:// (TLS)?`;
  }
  return `cannot use ${where}: ${message}`;
}

/** Whether a dotted version is at least `minimum` (missing parts count as 0). */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (text: string) => text.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const [have, need] = [parts(version), parts(minimum)];
  for (let index = 0; index < Math.max(have.length, need.length); index++) {
    const difference = (have[index] ?? 0) - (need[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}
