import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postMultipart, type FilePart } from './multipart.js';
import { freePort, waitUntilServing } from './net.js';
import type { BenchChild, Resources } from './resources.js';

/** Every setup request of the bench fails instead of waiting longer than this. */
export const REQUEST_TIMEOUT_MS = 30_000;

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The fields of a firmware as the management API answers them (the ones the bench reads). */
export interface FirmwareAnswer {
  readonly fwId: string;
  readonly version: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
}

/** `node bin/fota.js serve` as a separate process, and a client of its management API. */
export interface FotaServer {
  readonly child: BenchChild;
  readonly url: string;
  readonly token: string;
  /** A JSON call to /api/v1 with the admin token; fails unless the status is 2xx. */
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** An error that ends with what the server wrote last (its warnings and errors). */
  failure(message: string): Error;
  /** A streamed multipart upload to POST /api/v1/prototypes/:pid/firmwares; fails unless 201. */
  upload(prototypeId: string, fields: Record<string, string>, file: FilePart): Promise<FirmwareAnswer>;
}

export async function startFotaServer(
  resources: Resources,
  dataDir: string,
  options: {
    maxFirmwareBytes: number;
    nodeArgs?: readonly string[];
    /** After `serve`, e.g. `--workers 3`. */
    serveArgs?: readonly string[];
    /** How long the server may take to answer /healthz (default 30 s). */
    startTimeoutMs?: number;
    env?: NodeJS.ProcessEnv;
  },
): Promise<FotaServer> {
  const port = await freePort();
  const tcpPort = await freePort();
  const mqttPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const token = `bench_${randomBytes(24).toString('hex')}`;
  const child = resources.spawn(
    'fota server',
    process.execPath,
    [...(options.nodeArgs ?? []), join(repoRoot, 'bin/fota.js'), 'serve', ...(options.serveArgs ?? [])],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        FOTA_DATA_DIR: dataDir,
        FOTA_HTTP_PORT: String(port),
        FOTA_TCP_PORT: String(tcpPort),
        FOTA_MQTT_PORT: String(mqttPort),
        FOTA_HOST: '127.0.0.1',
        FOTA_PUBLIC_URL: url,
        FOTA_ADMIN_TOKEN: token,
        FOTA_LOG_LEVEL: process.env['BENCH_FOTA_LOG_LEVEL'] ?? 'warn',
        // bench:push ramps to 19 500 device sockets to find what one process holds: lift the budget
        // (default 18 000) close to the 20 000 files a process may open here.
        FOTA_MAX_DEVICE_CONNECTIONS: '19600',
        FOTA_MAX_FIRMWARE_BYTES: String(options.maxFirmwareBytes),
        ...options.env,
      },
    },
  );
  await waitUntilServing(`${url}/healthz`, child, options.startTimeoutMs);

  const authorization = `Bearer ${token}`;
  const failure = (message: string): Error => {
    const tail = child.tail();
    return new Error(tail === '' ? message : `${message}\nlast output of the fota server:\n${tail}`);
  };
  return {
    child,
    url,
    token,
    failure,
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      if (!response.ok) throw failure(`${method} /api/v1${path} answered ${response.status}: ${text}`);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    },
    async upload(prototypeId, fields, file) {
      const answer = await postMultipart(
        `${url}/api/v1/prototypes/${prototypeId}/firmwares`,
        { authorization },
        fields,
        file,
      );
      if (answer.status !== 201) {
        throw failure(`uploading ${file.fileName} answered ${answer.status}: ${answer.body.slice(0, 500)}`);
      }
      return JSON.parse(answer.body) as FirmwareAnswer;
    },
  };
}
