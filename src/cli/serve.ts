import cluster from 'node:cluster';
import { pino } from 'pino';
import { createApp } from '../app.js';
import { deviceEndpoints, loadConfig, unknownVariables, type Config } from '../config/index.js';
import { createServeOutput, tokenBanner } from './log-output.js';
import { onPrimaryStop, parseWorkers, primaryStart, servePrimary, tellPrimary } from './serve-workers.js';

const TOKEN_HEADING = `Administrator token, shown this once (only its hash is stored). Keep it: the fota commands read
it from FOTA_TOKEN. Lost it? Stop the server and run \`fota admin reset-token\`. FOTA_ADMIN_TOKEN
chooses a token of your own.`;

/**
 * `fota serve`: the whole product on one process, until SIGINT or SIGTERM; with `--workers N`, N
 * worker processes of one cluster (see serve-workers.ts), each of them serving as below.
 */
export async function serve(options: { readonly workers?: string | undefined } = {}): Promise<void> {
  const config = loadConfig(process.env);
  const output = createServeOutput(config.logFormat);
  const logger = pino({ level: config.logLevel }, output.stream);
  const worker = cluster.isWorker;
  if (!worker) {
    for (const { name, closest } of unknownVariables(process.env)) {
      const hint = closest === undefined ? '' : `; did you mean ${closest}?`;
      logger.warn(`${name} is not a fota setting and is ignored${hint} (fota serve --help lists them)`);
    }
    const workers = parseWorkers(options.workers);
    if (workers > 1 || options.workers !== undefined) {
      await servePrimary(config, logger, workers, (token) => output.print(tokenBanner(token, TOKEN_HEADING)));
      return;
    }
  }

  let app: Awaited<ReturnType<typeof createApp>>;
  if (worker) {
    // The primary generated the admin token, if any, and stores it once every worker listens.
    const adminToken = (await primaryStart()) ?? config.adminToken;
    try {
      app = await createApp({ ...config, adminToken, redis: workerRedis(config.redis) }, logger, { worker: true });
      await app.start();
    } catch (error) {
      const cliMessage = (error as { cliMessage?: string }).cliMessage;
      tellPrimary({ fota: 'failed', message: cliMessage ?? (error instanceof Error ? error.message : String(error)) });
      process.exit(1);
    }
    tellPrimary({ fota: 'listening' });
  } else {
    app = await createApp(config, logger);
    await app.start();
  }
  if (app.generatedAdminToken !== undefined) output.print(tokenBanner(app.generatedAdminToken, TOKEN_HEADING));
  const endpoints = deviceEndpoints(config);
  logger.info(
    {
      listening: {
        http: app.url(),
        tcp: `${config.host}:${app.tcp()?.port()}`,
        mqtt: `${config.host}:${app.mqtt()?.port()}`,
      },
      devices: { downloads: endpoints.downloads, tcp: endpoints.tcp, mqtt: endpoints.mqtt },
      dataDir: config.dataDir,
      docs: `${app.url()}/api/docs`,
      ...(config.proxies.trusted.empty
        ? {}
        : {
            trustedProxies: config.proxies.trusted.entries,
            proxyProtocol: [...config.proxies.listeners],
          }),
    },
    'fota is serving',
  );
  for (const warning of endpoints.warnings) logger.warn(warning);

  const graceSeconds = config.shutdownGraceMs / 1000;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: stopping now, without waiting for requests in flight');
      process.exit(1);
    }
    stopping = true;
    logger.info(
      { signal, graceSeconds },
      `stopping: requests in flight (uploads, downloads) get up to ${graceSeconds} s to finish (FOTA_SHUTDOWN_GRACE_S); ${signal} again stops at once`,
    );
    setTimeout(() => {
      logger.warn({ graceSeconds }, 'grace period over: stopping now, requests still in flight are cut');
      process.exit(1);
    }, config.shutdownGraceMs);
    app.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The primary's word (or its end) counts as a first signal only: Ctrl-C reached the worker too.
  if (worker)
    onPrimaryStop(() => {
      if (!stopping) stop('SIGTERM');
    });
}

/** A worker is a node of its own: a FOTA_NODE_ID given to the primary gets the worker's number. */
function workerRedis(redis: Config['redis']): Config['redis'] {
  if (redis?.nodeId === undefined) return redis;
  return { ...redis, nodeId: `${redis.nodeId}-w${cluster.worker?.id ?? 0}` };
}
