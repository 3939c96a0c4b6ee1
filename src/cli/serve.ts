import { pino } from 'pino';
import { createApp } from '../app.js';
import { deviceEndpoints, loadConfig, unknownVariables } from '../config.js';
import { createServeOutput, tokenBanner } from './log-output.js';

const TOKEN_HEADING = `Administrator token, shown this once (only its hash is stored). Keep it: the fota commands read
it from FOTA_TOKEN. Lost it? Stop the server and run \`fota admin reset-token\`. FOTA_ADMIN_TOKEN
chooses a token of your own.`;

/** `fota serve`: the whole product on one process, until SIGINT or SIGTERM. */
export async function serve(): Promise<void> {
  const config = loadConfig(process.env);
  const output = createServeOutput(config.logFormat);
  const logger = pino({ level: config.logLevel }, output.stream);
  for (const { name, closest } of unknownVariables(process.env)) {
    const hint = closest === undefined ? '' : `; did you mean ${closest}?`;
    logger.warn(`${name} is not a fota setting and is ignored${hint} (fota serve --help lists them)`);
  }

  const app = await createApp(config, logger);
  await app.start();
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
}
