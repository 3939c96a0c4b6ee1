import { Redis } from 'ioredis';
import { request } from 'node:http';
import { join } from 'node:path';
import { startFotaServer, type FotaServer } from '../lib/fota-server.js';
import { freePort } from '../lib/net.js';
import { progress } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import { sleep } from '../push/measure.js';
import type { SwarmTarget } from '../push/protocol.js';
import { freshDatabase, startS3, type Engines } from './engines.js';

/** One address devices connect to: a node, or the shared ports of `fota serve --workers N`. */
export interface Endpoint extends SwarmTarget {
  readonly server: FotaServer;
}

/** fota as the bench runs it: one or more `fota serve` processes of one cluster. */
export interface Cluster {
  readonly label: string;
  /** Where devices and API clients go; device i goes to `endpoints[i % endpoints.length]`. */
  readonly endpoints: readonly Endpoint[];
  /** The pids of the `fota serve` processes (each counted with its workers). */
  readonly pids: readonly number[];
  /** The node the bench sets up through and pushes from. */
  readonly first: FotaServer;
  /** The PostgreSQL database the nodes share. */
  readonly databaseUrl: string;
  stop(): Promise<void>;
}

/** Settings every node of a configuration shares: the database, Redis, quieter logs, a short grace. */
function sharedEnv(databaseUrl: string, engines: Engines): NodeJS.ProcessEnv {
  return {
    FOTA_DATABASE_URL: databaseUrl,
    FOTA_REDIS_URL: engines.redis.url,
    FOTA_SHUTDOWN_GRACE_S: '5',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

async function ports(): Promise<{ tcpPort: number; mqttPort: number; env: NodeJS.ProcessEnv }> {
  const tcpPort = await freePort();
  const mqttPort = await freePort();
  return { tcpPort, mqttPort, env: { FOTA_TCP_PORT: String(tcpPort), FOTA_MQTT_PORT: String(mqttPort) } };
}

/** Empties Redis, so that a configuration starts with no presence or node entries of the last one. */
export async function flushRedis(engines: Engines): Promise<void> {
  const redis = new Redis(engines.redis.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    await redis.flushall();
  } finally {
    redis.disconnect();
  }
}

/**
 * `count` separate `fota serve` processes on loopback, each with its own ports and data folder,
 * sharing one PostgreSQL database, Redis and an S3 bucket (OpenStack Swift), as nodes on several
 * machines behind a load balancer would: every node's FOTA_PUBLIC_URL is the first node's URL.
 */
export async function startNodes(
  resources: Resources,
  engines: Engines,
  root: string,
  count: number,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Cluster> {
  const s3 = await startS3(engines);
  const bucket = `fota-bench-${Date.now().toString(36)}`;
  await s3.createBucket(bucket);
  await flushRedis(engines);
  const databaseUrl = await freshDatabase(engines);
  const env = {
    ...sharedEnv(databaseUrl, engines),
    FOTA_S3_BUCKET: bucket,
    FOTA_S3_ENDPOINT: s3.endpoint,
    FOTA_S3_ACCESS_KEY_ID: s3.accessKeyId,
    FOTA_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    ...extraEnv,
  };
  const endpoints: Endpoint[] = [];
  for (let i = 0; i < count; i++) {
    progress(`${count} nodes: starting node ${i + 1} (PostgreSQL, Redis, S3)`);
    const chosen = await ports();
    const publicUrl = endpoints[0] ? { FOTA_PUBLIC_URL: endpoints[0].server.url } : {};
    const server = await startFotaServer(resources, join(root, `node-${count}-${i}`), {
      maxFirmwareBytes: 1024 * 1024,
      env: { ...env, ...chosen.env, ...publicUrl },
    });
    endpoints.push({ server, host: '127.0.0.1', tcpPort: chosen.tcpPort, mqttPort: chosen.mqttPort });
  }
  return {
    label: count === 1 ? '1 node' : `${count} nodes`,
    endpoints,
    pids: endpoints.map((endpoint) => endpoint.server.child.pid),
    first: endpoints[0]!.server,
    databaseUrl,
    stop: async () => {
      for (const endpoint of endpoints) await endpoint.server.child.stop();
    },
  };
}

/**
 * One `fota serve --workers N` on PostgreSQL and Redis (firmware files in its data folder): N
 * worker processes share the HTTP, TCP and MQTT ports, node:cluster hands each connection to one.
 */
export async function startWorkers(
  resources: Resources,
  engines: Engines,
  root: string,
  workers: number,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Cluster> {
  await flushRedis(engines);
  const databaseUrl = await freshDatabase(engines);
  const chosen = await ports();
  progress(`starting fota serve --workers ${workers} (PostgreSQL, Redis)`);
  const server = await startFotaServer(resources, join(root, `workers-${workers}`), {
    maxFirmwareBytes: 1024 * 1024,
    serveArgs: ['--workers', String(workers)],
    // Every worker loads the whole server: on 2 loaded cores 7 of them take a while.
    startTimeoutMs: 240_000,
    env: { ...sharedEnv(databaseUrl, engines), ...chosen.env, ...extraEnv },
  });
  await waitEveryWorker(server, workers);
  return {
    label: `--workers ${workers}`,
    endpoints: [{ server, host: '127.0.0.1', tcpPort: chosen.tcpPort, mqttPort: chosen.mqttPort }],
    pids: [server.child.pid],
    first: server,
    databaseUrl,
    stop: () => server.child.stop(20_000),
  };
}

/**
 * Waits until Redis holds a presence entry for each of `ids` (what a push by selection reads to
 * tell who is online on another node), or `timeoutMs`; answers how many have one.
 */
export async function waitPresence(
  engines: Engines,
  ids: readonly string[],
  timeoutMs: number,
): Promise<{ present: number; seconds: number }> {
  const redis = new Redis(engines.redis.url, { maxRetriesPerRequest: 2 });
  const start = Date.now();
  try {
    for (;;) {
      let present = 0;
      for (let i = 0; i < ids.length; i += 5000) {
        const pipeline = redis.pipeline();
        for (const id of ids.slice(i, i + 5000)) pipeline.exists(`fota:presence:${id}`);
        for (const [, value] of (await pipeline.exec()) ?? []) present += value === 1 ? 1 : 0;
      }
      const seconds = (Date.now() - start) / 1000;
      if (present === ids.length || Date.now() - start > timeoutMs) return { present, seconds };
      await sleep(1000);
    }
  } finally {
    redis.disconnect();
  }
}

/** Status of one authenticated API read on a connection of its own (node:cluster deals connections out). */
function statusOnNewConnection(server: FotaServer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${server.url}/api/v1/prototypes`,
      { agent: false, timeout: 5000, headers: { authorization: `Bearer ${server.token}` } },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => resolve(0));
    req.end();
  });
}

/**
 * A worker answers on the shared port as soon as it listens, and the management API answers 503
 * ("admin tokens are not ready") until that worker has read the admin token: /healthz from one
 * worker says nothing of the others. Waits for 4 × workers authenticated answers in a row, each on
 * a new connection.
 */
async function waitEveryWorker(server: FotaServer, workers: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  let inARow = 0;
  let last = 0;
  while (inARow < 4 * workers) {
    if (Date.now() > deadline)
      throw server.failure(`the workers did not all answer the API within 120 s (last status ${last})`);
    last = await statusOnNewConnection(server);
    if (last === 200) inARow++;
    else {
      inARow = 0;
      await sleep(200);
    }
  }
}
