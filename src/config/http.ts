import type { Reader } from './readers.js';

/** What one HTTP client may hold: sockets, and how long each phase of a request may take. */
export interface HttpLimits {
  /** HTTP sockets one process accepts, beside the device sockets. */
  readonly maxConnections: number;
  /** Time to receive a request's headers. */
  readonly headersTimeoutMs: number;
  /** Time to receive a management API or download request's body, after its headers. */
  readonly requestTimeoutMs: number;
  /** Time to receive an MCS device API request's body, after its headers. */
  readonly deviceRequestTimeoutMs: number;
  /** Longest silence on a connection while a request or its answer is under way (an upload must keep sending). */
  readonly idleTimeoutMs: number;
  /** How long a kept-alive connection may wait for its next request. */
  readonly keepAliveTimeoutMs: number;
}

export interface HttpConfig {
  readonly httpLimits: HttpLimits;
}

export const httpVariables = [
  [
    'FOTA_MAX_HTTP_CONNECTIONS',
    '800',
    'HTTP sockets one process accepts; a download also holds its firmware file open, so device connections + twice this stay below the open-file limit',
  ],
  ['FOTA_HTTP_HEADERS_TIMEOUT_S', '10', 'seconds a client may take to send the headers of a request'],
  [
    'FOTA_HTTP_REQUEST_TIMEOUT_S',
    '30',
    'seconds a management API or download request may take to send its body (uploads excepted: they only must keep sending)',
  ],
  ['FOTA_HTTP_DEVICE_REQUEST_TIMEOUT_S', '10', 'seconds an MCS device API request may take to send its body'],
  [
    'FOTA_HTTP_IDLE_TIMEOUT_S',
    '120',
    'seconds an HTTP connection may stay silent while a request or its answer is under way; an upload that stops sending for this long is dropped',
  ],
  ['FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S', '5', 'seconds a kept-alive HTTP connection may wait for its next request'],
] as const;

export function readHttp(reader: Reader): HttpConfig {
  return {
    httpLimits: {
      maxConnections: reader.integer('FOTA_MAX_HTTP_CONNECTIONS', '800', 1, 10_000_000),
      headersTimeoutMs: reader.seconds('FOTA_HTTP_HEADERS_TIMEOUT_S', '10'),
      requestTimeoutMs: reader.seconds('FOTA_HTTP_REQUEST_TIMEOUT_S', '30'),
      deviceRequestTimeoutMs: reader.seconds('FOTA_HTTP_DEVICE_REQUEST_TIMEOUT_S', '10'),
      idleTimeoutMs: reader.seconds('FOTA_HTTP_IDLE_TIMEOUT_S', '120'),
      keepAliveTimeoutMs: reader.seconds('FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S', '5'),
    },
  };
}
