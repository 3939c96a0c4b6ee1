import { PROXY_LISTENERS, type ProxyListener } from '../net/proxy-gate.js';
import { TrustedProxies } from '../net/trusted-proxies.js';
import type { Reader } from './readers.js';

/** The load balancers in front of the listeners, and what they tell of a client (docs/deploy.md). */
export interface ProxySettings {
  /** Whose PROXY header or X-Forwarded-For is taken; none: every connection is direct. */
  readonly trusted: TrustedProxies;
  /** The listeners where a connection from a trusted balancer starts with a PROXY header. */
  readonly listeners: ReadonlySet<ProxyListener>;
  /** How long a balancer's connection may take to send its whole PROXY header. */
  readonly headerTimeoutMs: number;
}

export interface ProxyConfig {
  readonly proxies: ProxySettings;
}

export const proxyVariables = [
  [
    'FOTA_TRUSTED_PROXIES',
    '(none)',
    'comma-separated addresses and CIDR ranges (IPv4, IPv6) of the load balancers in front of fota: only their PROXY header (FOTA_PROXY_PROTOCOL) and X-Forwarded-For (HTTP) name the client, which the failed-authentication throttle, the logs and the audit log then use',
  ],
  [
    'FOTA_PROXY_PROTOCOL',
    'off',
    'listeners where a connection from FOTA_TRUSTED_PROXIES must start with a PROXY header, v1 or v2 (HAProxy send-proxy-v2, nginx proxy_protocol on): a comma-separated subset of tcp, mqtt, linkit7681 (commands and discovery), http; or off',
  ],
  [
    'FOTA_PROXY_HEADER_TIMEOUT_S',
    '5',
    'seconds a balancer’s connection may take to send its whole PROXY header before it is closed',
  ],
] as const;

export function readProxies(reader: Reader): ProxyConfig {
  let trusted = TrustedProxies.none;
  try {
    trusted = TrustedProxies.parse(reader.text('FOTA_TRUSTED_PROXIES', ''));
  } catch (error) {
    reader.problem(`FOTA_TRUSTED_PROXIES: ${(error as Error).message} (addresses or CIDR ranges, comma-separated)`);
  }
  const text = reader.text('FOTA_PROXY_PROTOCOL', 'off').trim().toLowerCase();
  const names = text === 'off' ? [] : text.split(',').map((name) => name.trim());
  const listeners = new Set<ProxyListener>();
  for (const name of names) {
    if ((PROXY_LISTENERS as readonly string[]).includes(name)) listeners.add(name as ProxyListener);
    else reader.problem(`FOTA_PROXY_PROTOCOL names "${name}"; it takes ${PROXY_LISTENERS.join(', ')} or off`);
  }
  if (listeners.size > 0 && trusted.empty) {
    reader.problem(
      'FOTA_PROXY_PROTOCOL needs FOTA_TRUSTED_PROXIES: the addresses of the balancers that send the header',
    );
  }
  return { proxies: { trusted, listeners, headerTimeoutMs: reader.seconds('FOTA_PROXY_HEADER_TIMEOUT_S', '5') } };
}
