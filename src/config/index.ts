import { readAuth, type AuthConfig } from './auth.js';
import { readDatabase, type DatabaseConfig } from './database.js';
import { readDevices, type DeviceConfig } from './devices.js';
import { readDownloads, type DownloadConfig } from './downloads.js';
import { readEndpoints, type EndpointConfig } from './endpoints.js';
import { ConfigError } from './errors.js';
import { readHttp, type HttpConfig } from './http.js';
import { readLinkit7681, type Linkit7681Config } from './linkit7681.js';
import { readProcess, type ProcessConfig } from './process.js';
import { readProxies, type ProxyConfig } from './proxies.js';
import { readPushes, type PushConfig } from './pushes.js';
import { createReader } from './readers.js';
import { readRedis, type RedisConfig } from './redis.js';
import { readRetention, type RetentionConfig } from './retention.js';
import { readSecrets, type SecretConfig } from './secrets.js';
import { readServer, type ServerConfig } from './server.js';
import { readStorage, type StorageConfig } from './storage.js';
import { readWebhooks, type WebhookConfig } from './webhooks.js';

export { redactUrl } from './database.js';
export type { DownloadSettings } from './downloads.js';
export { deviceEndpoints, longestFotaLineBytes, MAX_FOTA_LINE_BYTES } from './endpoints.js';
export { ConfigError, StartError } from './errors.js';
export type { HttpLimits } from './http.js';
export type { Linkit7681Config } from './linkit7681.js';
export type { ProxySettings } from './proxies.js';
export type { RedisConfig } from './redis.js';
export { MAX_S3_FIRMWARE_BYTES, type S3Settings } from './storage.js';
export { editDistance, unknownVariables } from './unknown-variables.js';
export { clientVariables, configVariables } from './variables.js';
export type { WebhookSettings } from './webhooks.js';

/** Everything the server reads from its environment, checked once at start: each area's part. */
export interface Config
  extends
    ServerConfig,
    DatabaseConfig,
    EndpointConfig,
    DeviceConfig,
    AuthConfig,
    PushConfig,
    HttpConfig,
    SecretConfig,
    ProcessConfig,
    StorageConfig,
    DownloadConfig,
    RetentionConfig,
    WebhookConfig,
    ProxyConfig {
  /** The LinkIt Connect 7681 servers; undefined when FOTA_LINKIT7681_ENABLED is false. */
  readonly linkit7681: Linkit7681Config | undefined;
  /** Redis, for what crosses the nodes of a cluster; undefined: everything stays in this process. */
  readonly redis: RedisConfig | undefined;
}

/**
 * Reads every area of `env`; throws a `ConfigError` that lists every problem found. The areas
 * are read in the order the settings were read before they had modules of their own.
 *
 * A new setting: its row in its area's variables (in the place `fota serve --help` shows it),
 * its read and checks in the area's reader, its field in the area's part of `Config`. A new
 * area: a module here, and one line in `variables.ts`, in `Config` and below.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const reader = createReader(env);
  const server = readServer(reader);
  // Only FOTA_HTTP_PORT is checked so far: when it is refused, the default FOTA_PUBLIC_URL does not repeat it.
  const endpoints = readEndpoints(reader, server.httpPort, reader.problems.length > 0);
  const devices = readDevices(reader);
  const pushes = readPushes(reader);
  const auth = readAuth(reader);
  const http = readHttp(reader);
  const database = readDatabase(reader);
  const linkit7681 = readLinkit7681(reader, endpoints.tcpPublicHost);
  const secrets = readSecrets(reader);
  const logging = readProcess(reader);
  const storage = readStorage(reader, devices.maxFirmwareBytes);
  const downloads = readDownloads(reader, storage.blobStorage.kind);
  const redis = readRedis(reader);
  const retention = readRetention(reader);
  const webhooks = readWebhooks(reader);
  const proxies = readProxies(reader);
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return {
    ...server,
    ...endpoints,
    ...devices,
    ...pushes,
    ...auth,
    ...http,
    ...database,
    ...linkit7681,
    ...secrets,
    ...logging,
    ...storage,
    ...downloads,
    ...redis,
    ...retention,
    ...webhooks,
    ...proxies,
  };
}
