import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { freePort } from './ports.js';

export interface TestServer {
  readonly app: App;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly dataDir: string;
  /** A JSON call to the management API with the admin token. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export { freePort } from './ports.js';

export const newAdminToken = (): string => `test_${randomBytes(24).toString('hex')}`;

/** The environment of a test server on loopback: a fresh data folder, free ports, a known token. */
export async function testEnvironment(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fota-test-'));
  const port = await freePort();
  return {
    FOTA_DATA_DIR: dataDir,
    FOTA_HTTP_PORT: String(port),
    FOTA_TCP_PORT: String(await freePort()),
    FOTA_MQTT_PORT: String(await freePort()),
    FOTA_HOST: '127.0.0.1',
    FOTA_PUBLIC_URL: `http://127.0.0.1:${port}`,
    FOTA_ADMIN_TOKEN: newAdminToken(),
    FOTA_LOG_LEVEL: 'silent',
    ...extra,
  };
}

/** Starts the real server in this process on loopback with a fresh data folder. */
export async function startServer(extra: Record<string, string> = {}, logger?: Logger): Promise<TestServer> {
  const env = await testEnvironment(extra);
  const config = loadConfig(env);
  const app = await createApp(config, logger);
  await app.start();
  const url = `http://127.0.0.1:${config.httpPort}`;
  const token = env['FOTA_ADMIN_TOKEN']!;
  return {
    app,
    url,
    port: config.httpPort,
    token,
    dataDir: config.dataDir,
    async api<T>(method: string, path: string, body?: unknown) {
      const response = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
    },
    async stop() {
      await app.stop();
      await rm(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** Uploads a firmware through the management API as a browser form would. */
export async function uploadFirmware(
  server: TestServer,
  prototypeId: string,
  fields: Record<string, string>,
  content: Buffer | string,
  fileName = 'fw.bin',
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([content]), fileName);
  const response = await fetch(`${server.url}/api/v1/prototypes/${prototypeId}/firmwares`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}` },
    body: form,
  });
  return { status: response.status, body: await response.json() };
}
