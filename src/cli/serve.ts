import { createApp } from '../app.js';
import { loadConfig } from '../config.js';

/** `fota serve`: the whole product on one process, until SIGINT or SIGTERM. */
export async function serve(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createApp(config);
  await app.start();
  if (app.generatedAdminToken !== undefined) {
    process.stdout.write(
      `\nAdministrator token (shown once, only its hash is stored; set FOTA_ADMIN_TOKEN to choose your own):\n\n  ${app.generatedAdminToken}\n\n`,
    );
  }
  app.logger.info(
    {
      http: app.url(),
      tcp: `${config.host}:${app.tcp()?.port()}`,
      mqtt: `${config.host}:${app.mqtt()?.port()}`,
      publicUrl: config.publicUrl,
      dataDir: config.dataDir,
      docs: `${app.url()}/api/docs`,
    },
    'fota is serving',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'stopping');
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        app.logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
