import type { Reader } from './readers.js';

/** The failed-authentication throttle, console sign-ins and sessions. */
export interface AuthConfig {
  /** Failed authentications one source address may make at once, on every surface together. */
  readonly authFailureBurst: number;
  /** Failed authentications per minute an address regains once its burst is spent. */
  readonly authFailuresPerMinute: number;
  /** Source addresses the throttle remembers at most. */
  readonly authThrottleAddresses: number;
  /** Failed sign-ins one account may have at once before it is refused for a while. */
  readonly accountFailureBurst: number;
  /** Past the burst, an account regains one sign-in attempt this often. */
  readonly accountLockMs: number;
  /** How long a console session lasts from sign-in (absolute, not sliding). */
  readonly sessionTtlMs: number;
}

export const authVariables = [
  [
    'FOTA_AUTH_FAILURE_BURST',
    '20',
    'failed authentications (admin token, device key over HTTP, TCP or MQTT) one source address may make at once; past it the address is refused (HTTP 429) until it regains one',
  ],
  ['FOTA_AUTH_FAILURES_PER_MINUTE', '10', 'failed authentications per minute a source address regains'],
  ['FOTA_AUTH_THROTTLE_ADDRESSES', '10000', 'source addresses the failed-authentication throttle remembers at most'],
  [
    'FOTA_ACCOUNT_FAILURE_BURST',
    '10',
    'failed console sign-ins one account (email) may have at once; past it the account is refused (HTTP 429 with Retry-After), a correct password too, until it regains one',
  ],
  ['FOTA_ACCOUNT_LOCK_S', '300', 'seconds after which a throttled account regains one sign-in attempt'],
  [
    'FOTA_SESSION_TTL_S',
    '43200',
    'seconds a console session lasts from sign-in (12 h; absolute: using it does not extend it)',
  ],
] as const;

export function readAuth(reader: Reader): AuthConfig {
  return {
    authFailureBurst: reader.integer('FOTA_AUTH_FAILURE_BURST', '20', 1, 1_000_000),
    authFailuresPerMinute: reader.integer('FOTA_AUTH_FAILURES_PER_MINUTE', '10', 1, 1_000_000),
    authThrottleAddresses: reader.integer('FOTA_AUTH_THROTTLE_ADDRESSES', '10000', 1, 10_000_000),
    accountFailureBurst: reader.integer('FOTA_ACCOUNT_FAILURE_BURST', '10', 1, 1_000_000),
    accountLockMs: reader.seconds('FOTA_ACCOUNT_LOCK_S', '300'),
    sessionTtlMs: reader.seconds('FOTA_SESSION_TTL_S', '43200'),
  };
}
