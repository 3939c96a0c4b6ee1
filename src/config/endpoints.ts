import type { Reader } from './readers.js';

/** What devices are told to reach: the download base and the TCP command server. */
export interface EndpointConfig {
  /** Base of download URLs, without a trailing slash. */
  readonly publicUrl: string;
  readonly tcpPublicHost: string;
  readonly tcpPort: number;
}

export const endpointVariables = [
  [
    'FOTA_PUBLIC_URL',
    'http://localhost:${FOTA_HTTP_PORT}',
    'base of firmware download URLs as devices reach it (set it to an address devices can reach)',
  ],
  ['FOTA_TCP_PUBLIC_HOST', '127.0.0.1', 'host of the TCP command server that `connections.csv` answers'],
  ['FOTA_TCP_PORT', '4443', 'port of the TCP command server'],
] as const;

/** `httpPort` gives the default FOTA_PUBLIC_URL (8080 when it is refused, not reported again as a bad URL). */
export function readEndpoints(reader: Reader, httpPort: number, httpPortRefused: boolean): EndpointConfig {
  const tcpPort = reader.port('FOTA_TCP_PORT', '4443');
  const publicUrl = reader
    .text('FOTA_PUBLIC_URL', `http://localhost:${httpPortRefused ? 8080 : httpPort}`)
    .replace(/\/+$/, '');
  checkPublicUrl(publicUrl, reader);

  const tcpPublicHost = reader.text('FOTA_TCP_PUBLIC_HOST', '127.0.0.1');
  const endpoint = `${tcpPublicHost},${tcpPort}`;
  if (tcpPublicHost.includes(',') || /\s/.test(tcpPublicHost)) {
    reader.problem('FOTA_TCP_PUBLIC_HOST must not contain commas or whitespace');
  } else if (endpoint.length > 20) {
    reader.problem(
      `FOTA_TCP_PUBLIC_HOST and FOTA_TCP_PORT make "${endpoint}" (${endpoint.length} characters), but connections.csv must stay within 20 characters for the LinkIt ONE`,
    );
  }
  return { publicUrl, tcpPublicHost, tcpPort };
}

function checkPublicUrl(publicUrl: string, reader: Reader): void {
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    reader.problem(`FOTA_PUBLIC_URL must be an absolute http:// or https:// URL, not "${publicUrl}"`);
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    reader.problem('FOTA_PUBLIC_URL must start with http:// or https://');
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    reader.problem('FOTA_PUBLIC_URL must not have a query, a fragment or credentials');
  }
  if (/[,\s]/.test(publicUrl)) reader.problem('FOTA_PUBLIC_URL must not contain commas or whitespace');
  const longest = longestFotaLineBytes(publicUrl);
  if (longest > MAX_FOTA_LINE_BYTES) {
    reader.problem(
      `FOTA_PUBLIC_URL is too long: with a 32-character version a FOTA line would be ${longest} bytes, and MediaTek's C client reads at most ${MAX_FOTA_LINE_BYTES}; use a URL of at most ${publicUrl.length - (longest - MAX_FOTA_LINE_BYTES)} characters`,
    );
  }
}

/**
 * The longest FOTA line a device can receive is `deviceId,deviceKey,timestamp,FOTA,version,MD5,URL`
 * with an 8-character id, a 16-character key, a 13-digit timestamp, a 32-character version, a
 * 32-digit MD5 and the URL a push sends, `{publicUrl}/fw/p/{token}` (the 21-character token names
 * the device's part in the push, so its download is seen). MediaTek's C client reads it into a 200-byte buffer, so it must
 * stay at or under 199 bytes.
 */
export const MAX_FOTA_LINE_BYTES = 199;
export function longestFotaLineBytes(publicUrl: string): number {
  const url = `${publicUrl}/fw/p/${'t'.repeat(21)}`;
  return Buffer.byteLength(
    `D0000000,${'k'.repeat(16)},${'1'.repeat(13)},FOTA,${'v'.repeat(32)},${'0'.repeat(32)},${url}`,
  );
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1)$/i;

/**
 * What devices are told to use: the download base, the TCP command server as `connections.csv`
 * answers it, and the MQTT broker (on the same host); with a warning for each that points at
 * loopback while the server listens on every address (devices elsewhere could not reach it).
 */
export function deviceEndpoints(config: EndpointConfig & { readonly host: string; readonly mqttPort: number }): {
  downloads: string;
  tcp: string;
  mqtt: string;
  warnings: string[];
} {
  const endpoints = {
    downloads: `${config.publicUrl}/fw/`,
    tcp: `${config.tcpPublicHost},${config.tcpPort}`,
    mqtt: `${config.tcpPublicHost}:${config.mqttPort}`,
  };
  const warnings: string[] = [];
  if (config.host === '0.0.0.0' || config.host === '::') {
    if (LOOPBACK.test(new URL(config.publicUrl).hostname)) {
      warnings.push(
        `download URLs point at ${config.publicUrl}, which only this machine reaches: set FOTA_PUBLIC_URL to an address devices can reach`,
      );
    }
    if (LOOPBACK.test(config.tcpPublicHost)) {
      warnings.push(
        `connections.csv answers ${endpoints.tcp}, which only this machine reaches: set FOTA_TCP_PUBLIC_HOST to an IPv4 address devices can reach`,
      );
    }
  }
  return { ...endpoints, warnings };
}
