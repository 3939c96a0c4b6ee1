import { authVariables } from './auth.js';
import { databaseVariables } from './database.js';
import { deviceVariables } from './devices.js';
import { downloadVariables } from './downloads.js';
import { endpointVariables } from './endpoints.js';
import { httpVariables } from './http.js';
import { linkit7681Variables } from './linkit7681.js';
import { processVariables } from './process.js';
import { proxyVariables } from './proxies.js';
import { pushVariables } from './pushes.js';
import { redisVariables } from './redis.js';
import { retentionVariables } from './retention.js';
import { secretVariables } from './secrets.js';
import { serverVariables } from './server.js';
import { storageVariables } from './storage.js';
import { webhookVariables } from './webhooks.js';

/**
 * The variables, their defaults and what they mean, in the order the README and
 * `fota serve --help` show them; each area of the configuration states its own.
 */
export const configVariables = [
  ...serverVariables,
  ...databaseVariables,
  ...endpointVariables,
  ...deviceVariables.sockets,
  ...authVariables,
  ...deviceVariables.traffic,
  ...pushVariables,
  ...httpVariables,
  ...linkit7681Variables,
  ...secretVariables,
  ...processVariables,
  ...storageVariables,
  ...downloadVariables,
  ...redisVariables,
  ...retentionVariables,
  ...webhookVariables,
  ...proxyVariables,
] as const;

/** Variables the `fota` client commands read (not the server): known, so not reported as unknown. */
export const clientVariables = ['FOTA_URL', 'FOTA_TOKEN', 'FOTA_MQTT_URL', 'FOTA_USER_PASSWORD'] as const;
