import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keys } from '../../src/bus/redis/keys.js';
import { runFota } from '../support/fota-cli.js';
import { freePort } from '../support/server.js';

/**
 * `fota doctor` against the run's real engines: Swift's S3 API, redis-server. A good configuration
 * passes every check; each broken one fails its check in words naming the variable, exit code 1,
 * and no secret is printed.
 */
const s3 = inject('s3');
const redisUrl = inject('redisUrl');
const prefix = `doctor-${randomUUID()}/`;
const nodeId = `doctor-${randomBytes(4).toString('hex')}`;
let dataDir: string;
let redis: Redis;

const goodEnv = (): Record<string, string> => ({
  FOTA_DATA_DIR: dataDir,
  FOTA_S3_BUCKET: s3.bucket,
  FOTA_S3_ENDPOINT: s3.endpoint,
  FOTA_S3_REGION: s3.region,
  FOTA_S3_ACCESS_KEY_ID: s3.accessKeyId,
  FOTA_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  FOTA_S3_PREFIX: prefix,
  FOTA_DOWNLOAD_MODE: 'redirect',
  FOTA_REDIS_URL: redisUrl,
});

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fota-doctor-'));
  expect((await runFota(['migrate'], { FOTA_DATA_DIR: dataDir })).code).toBe(0);
  redis = new Redis(redisUrl);
  // A node's liveness key, as a running node writes it (its clock, a TTL).
  await redis.set(keys.node(nodeId), String(Date.now() - 2000), 'PX', 60_000);
});
afterAll(async () => {
  await redis.del(keys.node(nodeId));
  redis.disconnect();
  await rm(dataDir, { recursive: true, force: true });
});

describe('fota doctor with S3 and Redis', () => {
  it('passes a good configuration, naming the bucket, the Redis version, its clock and the live nodes', async () => {
    const run = await runFota(['doctor'], goodEnv());
    expect(run.stderr).not.toMatch(/problem|Error/);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^ok {7}database: SQLite /);
    expect(lines[1]).toMatch(/^ok {7}data folder: /);
    expect(lines[2]).toBe(
      `ok       S3 bucket: bucket "${s3.bucket}" (FOTA_S3_BUCKET) at ${s3.endpoint}: credentials accepted, a probe object under ${prefix} put, read back and deleted; a presigned GET of it answered 200 without credentials (redirect mode), from ${s3.endpoint}`,
    );
    expect(lines[3]).toMatch(/^ok {7}Redis: Redis 7\.\d+\.\d+ at redis:\/\/127\.0\.0\.1:\d+, answered PING in \d+ ms$/);
    expect(lines[4]).toMatch(/^ok {7}Redis clock: this machine's clock is within \d\.\d s of Redis's$/);
    expect(lines[5]).toMatch(
      new RegExp(`^ok {7}cluster nodes: \\d+ live nodes?: .*${nodeId} \\(refreshed \\d+ s ago\\)`),
    );
    expect(lines[6]).toBe('Every check passed.');
    expect(run.code).toBe(0);
    // The probe object is gone.
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    client.destroy();
    expect(listed.KeyCount ?? 0).toBe(0);
  });

  it('prints one JSON document with --json, the node ids in the details', async () => {
    const run = await runFota(['doctor', '--json'], goodEnv());
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      passed: boolean;
      checks: Array<{ name: string; status: string; message: string; details?: any }>;
    };
    expect(report.passed).toBe(true);
    expect(report.checks.map(({ name, status }) => [name, status])).toEqual([
      ['database', 'ok'],
      ['data folder', 'ok'],
      ['S3 bucket', 'ok'],
      ['Redis', 'ok'],
      ['Redis clock', 'ok'],
      ['cluster nodes', 'ok'],
    ]);
    expect(typeof report.checks[4]!.details.skewMs).toBe('number');
    const node = report.checks[5]!.details.nodes.find((entry: { id: string }) => entry.id === nodeId);
    expect(node).toMatchObject({ id: nodeId, refreshedAt: expect.any(Number), ttlMs: expect.any(Number) });
  });

  it('says the S3 server refused a wrong secret key, without printing it, and exits 1', async () => {
    const secret = 'wrong-secret-0123456789';
    const run = await runFota(['doctor'], { ...goodEnv(), FOTA_S3_SECRET_ACCESS_KEY: secret });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `problem  S3 bucket: the S3 server at ${s3.endpoint} refused the secret key (FOTA_S3_SECRET_ACCESS_KEY): the signature does not match (SignatureDoesNotMatch, HTTP 403)\n`,
    );
    expect(run.stdout + run.stderr).not.toContain(secret);
    expect(run.stdout).toMatch(/ok {7}Redis: /);
    expect(run.stdout).toContain('1 of 6 checks found a problem');
  });

  it('says an unknown access key is unknown', async () => {
    const run = await runFota(['doctor'], { ...goodEnv(), FOTA_S3_ACCESS_KEY_ID: 'nobody:here' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /problem {2}S3 bucket: the S3 server at \S+ (does not know the access key \(FOTA_S3_ACCESS_KEY_ID\)|refused the secret key)/,
    );
  });

  it('says a missing bucket does not exist and what to do', async () => {
    const run = await runFota(['doctor'], { ...goodEnv(), FOTA_S3_BUCKET: 'fota-no-such-bucket' });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `problem  S3 bucket: the bucket "fota-no-such-bucket" (FOTA_S3_BUCKET) does not exist at ${s3.endpoint}: create it, or correct FOTA_S3_BUCKET (NoSuchBucket, HTTP 404)\n`,
    );
  });

  it('says an S3 endpoint nothing listens on cannot be reached', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const run = await runFota(['doctor'], { ...goodEnv(), FOTA_S3_ENDPOINT: endpoint });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(
        `problem {2}S3 bucket: cannot reach the S3 endpoint ${endpoint} \\(FOTA_S3_ENDPOINT\\): .*ECONNREFUSED`,
      ),
    );
  });

  it('says a Redis port nothing listens on cannot be reached, and skips the checks that need it', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const run = await runFota(['doctor'], { ...goodEnv(), FOTA_REDIS_URL: url });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(
        `problem {2}Redis: cannot reach Redis at ${url} \\(FOTA_REDIS_URL\\): connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+; check the host and port, and that redis-server runs and listens there\\n`,
      ),
    );
    expect(run.stdout).toContain('skipped  Redis clock: not checked: Redis found a problem\n');
    expect(run.stdout).toContain('skipped  cluster nodes: not checked: Redis found a problem\n');
    expect(run.stdout).toContain('ok       S3 bucket: ');
    expect(run.stdout).toContain('1 of 6 checks found a problem');
  });

  it('says Redis refused a wrong password, without printing it', async () => {
    const user = `doctor-${randomBytes(4).toString('hex')}`;
    await redis.call('ACL', 'SETUSER', user, 'on', `>${randomBytes(12).toString('hex')}`, '~*', '+@all');
    try {
      const password = 'not-the-password-42';
      const port = new URL(redisUrl).port;
      const run = await runFota(['doctor'], {
        ...goodEnv(),
        FOTA_REDIS_URL: `redis://${user}:${password}@127.0.0.1:${port}`,
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(
        `problem  Redis: Redis at redis://${user}:***@127.0.0.1:${port} (FOTA_REDIS_URL) refused the password: put the right one in FOTA_REDIS_URL`,
      );
      expect(run.stdout).toContain('WRONGPASS');
      expect(run.stdout + run.stderr).not.toContain(password);
    } finally {
      await redis.call('ACL', 'DELUSER', user);
    }
  });
});
