import { resolve } from 'node:path';
import type { PushTimeouts } from './domain/push.js';
import type { RetentionPolicy } from './domain/services/retention.js';
import { PROXY_LISTENERS, type ProxyListener } from './net/proxy-gate.js';
import { TrustedProxies } from './net/trusted-proxies.js';

/** Everything the server reads from its environment, checked once at start. */
export interface Config {
  readonly httpPort: number;
  readonly host: string;
  readonly dataDir: string;
  /** A `postgres://` URL: PostgreSQL instead of the SQLite file in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Connections to PostgreSQL one process holds at most. */
  readonly databasePoolSize: number;
  /** How long getting a connection to PostgreSQL may take. */
  readonly databaseConnectTimeoutMs: number;
  /** Base of download URLs, without a trailing slash. */
  readonly publicUrl: string;
  readonly tcpPublicHost: string;
  readonly tcpPort: number;
  readonly maxFirmwareBytes: number;
  /** A TCP connection without a valid heartbeat for this long is closed. */
  readonly tcpHeartbeatTimeoutMs: number;
  /** Echo each heartbeat back, as MCS did. */
  readonly tcpEchoHeartbeat: boolean;
  readonly mqttPort: number;
  /** Device sockets (TCP and MQTT together) one process accepts. */
  readonly maxDeviceConnections: number;
  /** Of those, how many may be held by sockets that have not identified a device yet. */
  readonly maxUnidentifiedConnections: number;
  /** The largest MQTT packet a client may send. */
  readonly mqttMaxPacketBytes: number;
  /** An MQTT client that proves no device within this time is closed. */
  readonly mqttIdentifyTimeoutMs: number;
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
  /** Data channels one device may have. */
  readonly maxChannelsPerDevice: number;
  /** How long a push target may stay in each active status before it fails. */
  readonly pushTimeouts: PushTimeouts;
  /** The least time between two messages written to one TCP device. */
  readonly tcpWriteGapMs: number;
  readonly httpLimits: HttpLimits;
  /** The LinkIt Connect 7681 servers; undefined when FOTA_LINKIT7681_ENABLED is false. */
  readonly linkit7681: Linkit7681Config | undefined;
  readonly adminToken: string | undefined;
  /** The key-encryption key that seals the signing keys the server holds (32 bytes); undefined: none. */
  readonly signingKek: Buffer | undefined;
  readonly logLevel: string;
  /** `auto`: readable lines when standard output is a terminal, JSON lines otherwise. */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** On SIGINT or SIGTERM, requests in flight get this long to finish before the process exits. */
  readonly shutdownGraceMs: number;
  /** The sweep at start keeps unreferenced blobs stored less than this long ago (another node's, in flight). */
  readonly blobSweepMinAgeMs: number;
  /** Where firmware bytes live: the data folder, or an S3-compatible bucket (FOTA_S3_BUCKET set). */
  readonly blobStorage: { readonly kind: 'local' } | { readonly kind: 's3'; readonly s3: S3Settings };
  readonly downloads: DownloadSettings;
  /** Redis, for what crosses the nodes of a cluster; undefined: everything stays in this process. */
  readonly redis: RedisConfig | undefined;
  /** How long the audit log and the push history are kept. */
  readonly retention: RetentionPolicy;
  /** How often the purge of old audit entries and push history runs. */
  readonly purgeIntervalMs: number;
  readonly webhooks: WebhookSettings;
  readonly proxies: ProxySettings;
}

/** The load balancers in front of the listeners, and what they tell of a client (docs/deploy.md). */
export interface ProxySettings {
  /** Whose PROXY header or X-Forwarded-For is taken; none: every connection is direct. */
  readonly trusted: TrustedProxies;
  /** The listeners where a connection from a trusted balancer starts with a PROXY header. */
  readonly listeners: ReadonlySet<ProxyListener>;
  /** How long a balancer's connection may take to send its whole PROXY header. */
  readonly headerTimeoutMs: number;
}

/** How webhook deliveries are posted and retried (docs/integrations.md). */
export interface WebhookSettings {
  /** Receivers on loopback, private and link-local addresses may be posted to. */
  readonly allowPrivate: boolean;
  readonly timeoutMs: number;
  readonly maxSubscriptions: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
  /** How often each node looks for due deliveries. */
  readonly pollMs: number;
}

/** How a node joins the others through Redis. */
export interface RedisConfig {
  readonly url: string;
  /** This node's id in Redis; undefined: a random one on each start. */
  readonly nodeId: string | undefined;
  /** A node's presence entries and liveness expire this long after it last refreshed them. */
  readonly presenceTtlMs: number;
  /** How long a node waits for the node holding a device to say whether its connection took a command. */
  readonly requestTimeoutMs: number;
}

/** An S3-compatible bucket and how to reach it (FOTA_S3_*). */
export interface S3Settings {
  /** An S3-compatible endpoint (http://host:port); undefined: AWS S3 of the region. */
  readonly endpoint: string | undefined;
  readonly bucket: string;
  readonly region: string;
  /** Both or neither; neither: the AWS SDK's default credential chain (AWS_* variables, profiles, roles). */
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key`, as most S3-compatible servers need. */
  readonly forcePathStyle: boolean;
  /** Put before every key, so deployments can share a bucket: empty or ending in `/`. */
  readonly prefix: string;
  /** Staging objects older than this are what a crashed upload left; removed at start. */
  readonly stagingGraceMs: number;
}

/** How firmware downloads are answered. */
export interface DownloadSettings {
  /** `proxy`: fota streams the bytes; `redirect`: 302 to a presigned URL of the bucket or to the CDN. */
  readonly mode: 'proxy' | 'redirect';
  /** How long a presigned download URL stays valid. */
  readonly urlTtlSeconds: number;
  /** A CDN in front of the bucket, without a trailing slash: redirects go to it + the object key. */
  readonly cdnUrl: string | undefined;
}

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

/** The LinkIt Connect 7681 discovery HTTP server and command server (docs/linkit7681.md). */
export interface Linkit7681Config {
  /** Where the command server listens (0: a free port). */
  readonly port: number;
  /** The IPv4 address boards are told to connect to and to download from. */
  readonly publicHost: string;
  /** The port boards are told, 1 to 999: the board copies at most three port digits. */
  readonly publicPort: number;
  /** The discovery and firmware HTTP server: 80 for real boards, which always use port 80. */
  readonly discoveryPort: number;
  readonly identifyTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly writeGapMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A start that cannot go on, with one line that names the setting to change (`fota: …` on the
 * command line, exit code 1, no stack trace).
 */
export class StartError extends Error {
  readonly exitCode = 1;
  constructor(readonly cliMessage: string) {
    super(cliMessage);
    this.name = 'StartError';
  }
}

/** The variables, their defaults and what they mean; the README and `fota serve --help` show this. */
export const configVariables = [
  ['FOTA_HTTP_PORT', '8080', 'port of the HTTP server (management API, MCS device API, downloads)'],
  ['FOTA_HOST', '0.0.0.0', 'address the servers listen on'],
  [
    'FOTA_DATA_DIR',
    './data',
    'folder for the SQLite database and the firmware files (only the firmware files with FOTA_DATABASE_URL)',
  ],
  [
    'FOTA_DATABASE_URL',
    '(unset: SQLite)',
    'postgres://user:password@host:5432/database to keep the data in PostgreSQL instead of the SQLite file in FOTA_DATA_DIR',
  ],
  ['FOTA_DATABASE_POOL_SIZE', '10', 'connections to PostgreSQL one process holds at most'],
  [
    'FOTA_DATABASE_CONNECT_TIMEOUT_S',
    '10',
    'seconds getting a connection to PostgreSQL may take before the request fails (503) or the start fails',
  ],
  [
    'FOTA_PUBLIC_URL',
    'http://localhost:${FOTA_HTTP_PORT}',
    'base of firmware download URLs as devices reach it (set it to an address devices can reach)',
  ],
  ['FOTA_TCP_PUBLIC_HOST', '127.0.0.1', 'host of the TCP command server that `connections.csv` answers'],
  ['FOTA_TCP_PORT', '4443', 'port of the TCP command server'],
  ['FOTA_MAX_FIRMWARE_BYTES', '1073741824', 'largest firmware accepted, in bytes (1 GiB)'],
  ['FOTA_TCP_HEARTBEAT_TIMEOUT_S', '120', 'seconds a TCP connection may stay without a valid heartbeat'],
  ['FOTA_TCP_ECHO_HEARTBEAT', 'true', 'echo each TCP heartbeat back to the device, as MCS did (true or false)'],
  ['FOTA_MQTT_PORT', '1883', 'port of the embedded MQTT broker'],
  [
    'FOTA_MAX_DEVICE_CONNECTIONS',
    '18000',
    'device sockets (TCP and MQTT together) one process accepts; keep it below the open-file limit (ulimit -n) so the HTTP API stays reachable',
  ],
  [
    'FOTA_MAX_UNIDENTIFIED_CONNECTIONS',
    '(FOTA_MAX_DEVICE_CONNECTIONS)',
    'of those, places sockets may hold before they identify a device (a valid TCP heartbeat, an MQTT subscribe or publish with a valid key); past it, or when the budget is full, the oldest of them is closed for a newcomer',
  ],
  [
    'FOTA_MQTT_MAX_PACKET_BYTES',
    '8192',
    'largest MQTT packet a client may send; a header that declares more drops the socket at once',
  ],
  [
    'FOTA_MQTT_IDENTIFY_TIMEOUT_S',
    '30',
    'seconds an MQTT client may stay without subscribing or publishing under a device with a valid key',
  ],
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
  [
    'FOTA_MAX_CHANNELS_PER_DEVICE',
    '100',
    'data channels one device may have; data points for a new channel past it are refused',
  ],
  [
    'FOTA_TCP_WRITE_GAP_MS',
    '1000',
    'least milliseconds between two messages to one TCP device: MCS clients read one message per recv and drop a second one read with it',
  ],
  ['FOTA_PUSH_QUEUED_TIMEOUT_S', '86400', 'seconds a queued push waits for its offline device to connect'],
  [
    'FOTA_PUSH_SENT_TIMEOUT_S',
    '600',
    'seconds a sent push waits for the device to acknowledge it or start the download',
  ],
  ['FOTA_PUSH_DELIVERED_TIMEOUT_S', '600', 'seconds an acknowledged push waits for the download to start'],
  [
    'FOTA_PUSH_DOWNLOADING_TIMEOUT_S',
    '3600',
    'seconds a started download waits for the device to report the new version',
  ],
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
  [
    'FOTA_LINKIT7681_ENABLED',
    'false',
    'start the LinkIt Connect 7681 discovery HTTP server and command server (true or false; see docs/linkit7681.md)',
  ],
  ['FOTA_LINKIT7681_PORT', '768', 'port the LinkIt 7681 command server listens on'],
  [
    'FOTA_LINKIT7681_PUBLIC_PORT',
    '(FOTA_LINKIT7681_PORT)',
    'port discovery tells LinkIt 7681 boards to connect to, 1 to 999 (the board copies at most three port digits); set it when a router forwards it to FOTA_LINKIT7681_PORT',
  ],
  [
    'FOTA_LINKIT7681_PUBLIC_HOST',
    '(FOTA_TCP_PUBLIC_HOST)',
    'IPv4 address LinkIt 7681 boards connect to and download firmware from (port 80, FOTA_LINKIT7681_DISCOVERY_PORT); the board resolves no names',
  ],
  [
    'FOTA_LINKIT7681_DISCOVERY_PORT',
    '80',
    'port of the LinkIt 7681 discovery and firmware HTTP server (the board always uses 80)',
  ],
  [
    'FOTA_LINKIT7681_IDENTIFY_TIMEOUT_S',
    '10',
    'seconds a LinkIt 7681 connection may stay without a first frame that decrypts with its device key',
  ],
  [
    'FOTA_LINKIT7681_IDLE_TIMEOUT_S',
    '120',
    'seconds a LinkIt 7681 connection may stay without a valid frame (the board sends a keep-alive every 40 s)',
  ],
  [
    'FOTA_LINKIT7681_WRITE_GAP_MS',
    '200',
    'least milliseconds between two frames to one LinkIt 7681 board, which reads one frame per TCP segment',
  ],
  [
    'FOTA_ADMIN_TOKEN',
    '(generated)',
    'administrator bearer token; when unset, one is generated on the first start and printed once',
  ],
  [
    'FOTA_SIGNING_KEK',
    '(none: no server-held signing keys)',
    'key-encryption key sealing the Ed25519 signing keys the server creates: 32 random bytes in base64 (`openssl rand -base64 32`); without it keys are only registered and firmware signed with the CLI',
  ],
  ['FOTA_LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent'],
  ['FOTA_LOG_FORMAT', 'auto', 'json (one JSON object a line) or pretty (readable lines); auto: pretty on a terminal'],
  [
    'FOTA_SHUTDOWN_GRACE_S',
    '10',
    'seconds requests in flight (uploads, downloads) get to finish after SIGINT or SIGTERM before the process exits',
  ],
  [
    'FOTA_S3_BUCKET',
    '(none: the data folder)',
    'keep firmware in this S3-compatible bucket instead of FOTA_DATA_DIR; it must exist and be writable',
  ],
  ['FOTA_S3_ENDPOINT', '(AWS S3)', 'URL of an S3-compatible server (http://host:port), or AWS S3 of the region'],
  ['FOTA_S3_REGION', 'us-east-1', 'region of the bucket'],
  [
    'FOTA_S3_ACCESS_KEY_ID',
    "(the AWS SDK's default chain)",
    "access key of the bucket; with FOTA_S3_SECRET_ACCESS_KEY, or both unset for the AWS SDK's default credential chain (AWS_* variables, ~/.aws, instance or task roles)",
  ],
  ['FOTA_S3_SECRET_ACCESS_KEY', "(the AWS SDK's default chain)", 'secret key of the bucket (never printed)'],
  [
    'FOTA_S3_FORCE_PATH_STYLE',
    '(true with FOTA_S3_ENDPOINT)',
    'address the bucket as ENDPOINT/BUCKET/KEY (most S3-compatible servers) rather than BUCKET.ENDPOINT/KEY (true or false)',
  ],
  ['FOTA_S3_PREFIX', '(none)', 'put before every object key (e.g. fota/), so deployments can share a bucket'],
  [
    'FOTA_S3_STAGING_GRACE_S',
    '86400',
    'seconds after which an upload left in the bucket by a crash is removed at start (nodes sharing the bucket may have younger ones in flight)',
  ],
  [
    'FOTA_BLOB_SWEEP_MIN_AGE_S',
    '3600',
    'seconds a firmware file (data folder or bucket) that no firmware refers to is kept before the sweep at start removes it (another node sharing the storage may have just stored it and not yet written its row)',
  ],
  [
    'FOTA_DOWNLOAD_MODE',
    'proxy',
    "proxy: fota streams firmware downloads; redirect (S3 only): /fw/ URLs answer 302 to a short-lived presigned URL of the bucket, or to FOTA_DOWNLOAD_CDN_URL; FOTA lines sent to devices keep fota's own short URL",
  ],
  ['FOTA_DOWNLOAD_URL_TTL_S', '300', 'seconds a presigned download URL stays valid (redirect mode; at most 604800)'],
  [
    'FOTA_DOWNLOAD_CDN_URL',
    '(none)',
    'in redirect mode, send downloads to this base + the object key (a CDN in front of the bucket) instead of a presigned URL',
  ],
  [
    'FOTA_REDIS_URL',
    '(none)',
    'redis://[:password@]host:port[/db] of the Redis that the nodes of a cluster share (device gateway, presence, events, queued pushes, rate limits, one MQTT broker); unset: one node, everything in this process',
  ],
  [
    'FOTA_NODE_ID',
    '(random)',
    "this node's id in Redis (letters, digits, - and _; at most 64); unique per node; each worker of --workers adds -w<N>",
  ],
  [
    'FOTA_REDIS_PRESENCE_TTL_S',
    '30',
    "seconds after which a node's presence entries and liveness expire unless it refreshes them (it does every third of this): how long a dead node's devices still look online",
  ],
  [
    'FOTA_REDIS_REQUEST_TIMEOUT_S',
    '10',
    'seconds a node waits for the node holding a device to say whether its connection took a command',
  ],
  ['FOTA_AUDIT_RETENTION_DAYS', '365', 'days audit log entries are kept (0: no age limit)'],
  [
    'FOTA_AUDIT_MAX_ENTRIES',
    '1000000',
    'audit log entries kept at most; past it the oldest go at the next purge (0: no count limit)',
  ],
  [
    'FOTA_HISTORY_RETENTION_DAYS',
    '365',
    'days finished pushes are kept with their devices and status histories (0: no age limit); a push with a device still in progress is never purged',
  ],
  [
    'FOTA_HISTORY_MAX_PUSHES',
    '0',
    'pushes kept at most, newest first; older finished ones go at the next purge (0: no count limit)',
  ],
  [
    'FOTA_PURGE_INTERVAL_S',
    '3600',
    'seconds between two purges of old audit entries and push history (the first one this long, at most a minute, after the start); each deletes in batches of 1,000 rows',
  ],
  [
    'FOTA_WEBHOOK_ALLOW_PRIVATE',
    'false',
    'true: webhook receivers may be on loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7) and link-local addresses (a receiver on the LAN); false refuses them, checked on every address a name resolves to',
  ],
  [
    'FOTA_WEBHOOK_TIMEOUT_S',
    '10',
    'seconds one webhook try may take, connection and answer; redirects are not followed',
  ],
  ['FOTA_WEBHOOK_MAX_SUBSCRIPTIONS', '100', 'webhook subscriptions the server keeps at most'],
  [
    'FOTA_WEBHOOK_RETRY_BASE_S',
    '10',
    'seconds before the second try of a webhook delivery; each failure doubles it (with jitter)',
  ],
  ['FOTA_WEBHOOK_RETRY_MAX_S', '3600', 'the longest wait in seconds between two tries of a webhook delivery'],
  ['FOTA_WEBHOOK_MAX_ATTEMPTS', '20', 'tries of a webhook delivery, the first included, before it is marked failed'],
  [
    'FOTA_WEBHOOK_MAX_AGE_S',
    '259200',
    'seconds after its event past which a webhook delivery is not tried again but marked failed (3 days)',
  ],
  ['FOTA_WEBHOOK_POLL_S', '1', 'seconds between two looks of a node for webhook deliveries that are due'],
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

/** Variables the `fota` client commands read (not the server): known, so not reported as unknown. */
export const clientVariables = ['FOTA_URL', 'FOTA_TOKEN', 'FOTA_MQTT_URL', 'FOTA_USER_PASSWORD'] as const;

/** Edit distance between two names (insertions, deletions, substitutions), for "did you mean". */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The `FOTA_*` variables of `env` that fota does not know, each with the closest known name when
 * one is near enough to be a typo (at most a third of its letters differ).
 */
export function unknownVariables(env: NodeJS.ProcessEnv): { name: string; closest: string | undefined }[] {
  const known: string[] = [...configVariables.map(([name]) => name), ...clientVariables];
  return Object.keys(env)
    .filter((name) => name.startsWith('FOTA_') && !known.includes(name))
    .sort()
    .map((name) => {
      let closest: string | undefined;
      let best = Math.max(2, Math.floor(name.length / 3)) + 1;
      for (const candidate of known) {
        const distance = editDistance(name, candidate);
        if (distance < best) [closest, best] = [candidate, distance];
      }
      return { name, closest };
    });
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1)$/i;

/**
 * What devices are told to use: the download base, the TCP command server as `connections.csv`
 * answers it, and the MQTT broker (on the same host); with a warning for each that points at
 * loopback while the server listens on every address (devices elsewhere could not reach it).
 */
export function deviceEndpoints(config: Config): { downloads: string; tcp: string; mqtt: string; warnings: string[] } {
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

/** A database URL as it may be shown: without its password (in the user part or the query). */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '(not a URL)';
  }
  if (url.password !== '') url.password = '***';
  if (url.searchParams.has('password')) url.searchParams.set('password', '***');
  return url.toString();
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  const read = (name: string, fallback: string): string => {
    const value = env[name];
    return value === undefined || value === '' ? fallback : value;
  };
  const port = (name: string, fallback: string): number => {
    const text = read(name, fallback);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value > 65535) {
      problems.push(`${name} must be a port number from 0 to 65535, not "${text}"`);
    }
    return value;
  };

  const httpPort = port('FOTA_HTTP_PORT', '8080');
  const tcpPort = port('FOTA_TCP_PORT', '4443');
  const host = read('FOTA_HOST', '0.0.0.0');
  const dataDir = resolve(read('FOTA_DATA_DIR', './data'));
  // The default follows FOTA_HTTP_PORT; a bad port is already reported, not again as a bad URL.
  const httpPortOk = problems.length === 0;
  const publicUrl = read('FOTA_PUBLIC_URL', `http://localhost:${httpPortOk ? httpPort : 8080}`).replace(/\/+$/, '');
  checkPublicUrl(publicUrl, problems);

  const tcpPublicHost = read('FOTA_TCP_PUBLIC_HOST', '127.0.0.1');
  const endpoint = `${tcpPublicHost},${tcpPort}`;
  if (tcpPublicHost.includes(',') || /\s/.test(tcpPublicHost)) {
    problems.push('FOTA_TCP_PUBLIC_HOST must not contain commas or whitespace');
  } else if (endpoint.length > 20) {
    problems.push(
      `FOTA_TCP_PUBLIC_HOST and FOTA_TCP_PORT make "${endpoint}" (${endpoint.length} characters), but connections.csv must stay within 20 characters for the LinkIt ONE`,
    );
  }

  const maxText = read('FOTA_MAX_FIRMWARE_BYTES', String(1024 ** 3));
  const maxFirmwareBytes = Number(maxText);
  if (!/^\d+$/.test(maxText) || maxFirmwareBytes < 1 || !Number.isSafeInteger(maxFirmwareBytes)) {
    problems.push(`FOTA_MAX_FIRMWARE_BYTES must be a positive whole number of bytes, not "${maxText}"`);
  }

  const seconds = (name: string, fallback: string): number => {
    const text = read(name, fallback);
    const value = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || value <= 0 || value > 365 * 24 * 3600) {
      problems.push(`${name} must be a number of seconds above 0 and at most a year, not "${text}"`);
    }
    return Math.round(value * 1000);
  };
  const tcpHeartbeatTimeoutMs = seconds('FOTA_TCP_HEARTBEAT_TIMEOUT_S', '120');
  const pushTimeouts: PushTimeouts = {
    queued: seconds('FOTA_PUSH_QUEUED_TIMEOUT_S', '86400'),
    sent: seconds('FOTA_PUSH_SENT_TIMEOUT_S', '600'),
    delivered: seconds('FOTA_PUSH_DELIVERED_TIMEOUT_S', '600'),
    downloading: seconds('FOTA_PUSH_DOWNLOADING_TIMEOUT_S', '3600'),
  };
  const gapText = read('FOTA_TCP_WRITE_GAP_MS', '1000');
  const tcpWriteGapMs = Number(gapText);
  if (!/^\d+$/.test(gapText) || tcpWriteGapMs > 60_000) {
    problems.push(`FOTA_TCP_WRITE_GAP_MS must be a whole number of milliseconds from 0 to 60000, not "${gapText}"`);
  }
  const echoText = read('FOTA_TCP_ECHO_HEARTBEAT', 'true').toLowerCase();
  if (!['true', 'false', '1', '0', 'yes', 'no'].includes(echoText)) {
    problems.push(`FOTA_TCP_ECHO_HEARTBEAT must be true or false, not "${echoText}"`);
  }
  const tcpEchoHeartbeat = ['true', '1', 'yes'].includes(echoText);
  const mqttPort = port('FOTA_MQTT_PORT', '1883');
  const wholeNumber = (name: string, fallback: string, min: number, max: number): number => {
    const text = read(name, fallback);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, not "${text}"`);
    }
    return value;
  };
  const maxDeviceConnections = wholeNumber('FOTA_MAX_DEVICE_CONNECTIONS', '18000', 1, 10_000_000);
  // By default unidentified sockets may use the whole budget: they are only the first to be shed, so
  // that a reconnect storm (every device at once after an outage) sheds nobody while there is room.
  const maxUnidentifiedConnections =
    read('FOTA_MAX_UNIDENTIFIED_CONNECTIONS', '') === ''
      ? maxDeviceConnections
      : Math.min(maxDeviceConnections, wholeNumber('FOTA_MAX_UNIDENTIFIED_CONNECTIONS', '', 1, 10_000_000));
  // A CONNECT with a client id, a will and its topic needs a few hundred bytes; MQTT's own limit is 256 MiB.
  const mqttMaxPacketBytes = wholeNumber('FOTA_MQTT_MAX_PACKET_BYTES', '8192', 512, 268_435_455);
  const mqttIdentifyTimeoutMs = seconds('FOTA_MQTT_IDENTIFY_TIMEOUT_S', '30');
  const authFailureBurst = wholeNumber('FOTA_AUTH_FAILURE_BURST', '20', 1, 1_000_000);
  const authFailuresPerMinute = wholeNumber('FOTA_AUTH_FAILURES_PER_MINUTE', '10', 1, 1_000_000);
  const authThrottleAddresses = wholeNumber('FOTA_AUTH_THROTTLE_ADDRESSES', '10000', 1, 10_000_000);
  const accountFailureBurst = wholeNumber('FOTA_ACCOUNT_FAILURE_BURST', '10', 1, 1_000_000);
  const accountLockMs = seconds('FOTA_ACCOUNT_LOCK_S', '300');
  const sessionTtlMs = seconds('FOTA_SESSION_TTL_S', '43200');
  const maxChannelsPerDevice = wholeNumber('FOTA_MAX_CHANNELS_PER_DEVICE', '100', 1, 100_000);
  const httpLimits: HttpLimits = {
    maxConnections: wholeNumber('FOTA_MAX_HTTP_CONNECTIONS', '800', 1, 10_000_000),
    headersTimeoutMs: seconds('FOTA_HTTP_HEADERS_TIMEOUT_S', '10'),
    requestTimeoutMs: seconds('FOTA_HTTP_REQUEST_TIMEOUT_S', '30'),
    deviceRequestTimeoutMs: seconds('FOTA_HTTP_DEVICE_REQUEST_TIMEOUT_S', '10'),
    idleTimeoutMs: seconds('FOTA_HTTP_IDLE_TIMEOUT_S', '120'),
    keepAliveTimeoutMs: seconds('FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S', '5'),
  };

  const databaseUrl = read('FOTA_DATABASE_URL', '') === '' ? undefined : read('FOTA_DATABASE_URL', '');
  if (databaseUrl !== undefined) checkDatabaseUrl(databaseUrl, problems);
  const databasePoolSize = wholeNumber('FOTA_DATABASE_POOL_SIZE', '10', 1, 10_000);
  const databaseConnectTimeoutMs = seconds('FOTA_DATABASE_CONNECT_TIMEOUT_S', '10');
  const linkit7681 = loadLinkit7681(read, port, seconds, wholeNumber, tcpPublicHost, problems);

  const adminToken = env['FOTA_ADMIN_TOKEN'] === '' ? undefined : env['FOTA_ADMIN_TOKEN'];
  if (adminToken !== undefined && (adminToken.length < 16 || /\s/.test(adminToken))) {
    problems.push('FOTA_ADMIN_TOKEN must be at least 16 characters without whitespace');
  }

  const kekText = read('FOTA_SIGNING_KEK', '').trim();
  const signingKek = kekText === '' ? undefined : Buffer.from(kekText, 'base64');
  if (signingKek !== undefined && (!/^[A-Za-z0-9+/]+={0,2}$/.test(kekText) || signingKek.length !== 32)) {
    problems.push('FOTA_SIGNING_KEK must be 32 bytes in base64 (44 characters; `openssl rand -base64 32`)');
  }

  const logLevel = read('FOTA_LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`FOTA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const logFormat = read('FOTA_LOG_FORMAT', 'auto');
  if (logFormat !== 'auto' && logFormat !== 'json' && logFormat !== 'pretty') {
    problems.push(`FOTA_LOG_FORMAT must be json, pretty or auto, not "${logFormat}"`);
  }
  const graceText = read('FOTA_SHUTDOWN_GRACE_S', '10');
  const shutdownGraceMs = Math.round(Number(graceText) * 1000);
  if (!/^\d+(\.\d+)?$/.test(graceText) || Number(graceText) > 3600) {
    problems.push(`FOTA_SHUTDOWN_GRACE_S must be a number of seconds from 0 to 3600, not "${graceText}"`);
  }

  const blobSweepMinAgeMs = seconds('FOTA_BLOB_SWEEP_MIN_AGE_S', '3600');
  const blobStorage = readBlobStorage(read, seconds, problems);
  if (blobStorage.kind === 's3' && maxFirmwareBytes > MAX_S3_FIRMWARE_BYTES) {
    problems.push(
      `FOTA_MAX_FIRMWARE_BYTES is at most ${MAX_S3_FIRMWARE_BYTES} (5 GiB) with S3 storage: a commit copies a blob in one CopyObject`,
    );
  }
  const downloads = readDownloads(read, blobStorage.kind, problems);
  const redis = readRedis(read, seconds, problems);
  const days = (name: string, fallback: string): number | undefined => {
    const value = wholeNumber(name, fallback, 0, 36_500);
    return value === 0 ? undefined : value * 86_400_000;
  };
  const cap = (name: string, fallback: string): number | undefined => {
    const value = wholeNumber(name, fallback, 0, 1_000_000_000);
    return value === 0 ? undefined : value;
  };
  const retention: RetentionPolicy = {
    auditMaxAgeMs: days('FOTA_AUDIT_RETENTION_DAYS', '365'),
    auditMaxEntries: cap('FOTA_AUDIT_MAX_ENTRIES', '1000000'),
    historyMaxAgeMs: days('FOTA_HISTORY_RETENTION_DAYS', '365'),
    historyMaxPushes: cap('FOTA_HISTORY_MAX_PUSHES', '0'),
  };
  const purgeIntervalMs = seconds('FOTA_PURGE_INTERVAL_S', '3600');
  const webhooks = readWebhooks(read, seconds, wholeNumber, problems);
  const proxies = readProxies(read, seconds, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    httpPort,
    host,
    databaseUrl,
    databasePoolSize,
    databaseConnectTimeoutMs,
    dataDir,
    publicUrl,
    tcpPublicHost,
    tcpPort,
    maxFirmwareBytes,
    tcpHeartbeatTimeoutMs,
    tcpEchoHeartbeat,
    mqttPort,
    maxDeviceConnections,
    maxUnidentifiedConnections,
    mqttMaxPacketBytes,
    mqttIdentifyTimeoutMs,
    authFailureBurst,
    authFailuresPerMinute,
    authThrottleAddresses,
    accountFailureBurst,
    accountLockMs,
    sessionTtlMs,
    maxChannelsPerDevice,
    pushTimeouts,
    tcpWriteGapMs,
    httpLimits,
    linkit7681,
    adminToken,
    signingKek,
    logLevel,
    logFormat: logFormat as Config['logFormat'],
    shutdownGraceMs,
    blobSweepMinAgeMs,
    blobStorage,
    downloads,
    redis,
    retention,
    purgeIntervalMs,
    webhooks,
    proxies,
  };
}

function readProxies(
  read: (name: string, fallback: string) => string,
  seconds: (name: string, fallback: string) => number,
  problems: string[],
): ProxySettings {
  let trusted = TrustedProxies.none;
  try {
    trusted = TrustedProxies.parse(read('FOTA_TRUSTED_PROXIES', ''));
  } catch (error) {
    problems.push(`FOTA_TRUSTED_PROXIES: ${(error as Error).message} (addresses or CIDR ranges, comma-separated)`);
  }
  const text = read('FOTA_PROXY_PROTOCOL', 'off').trim().toLowerCase();
  const names = text === 'off' ? [] : text.split(',').map((name) => name.trim());
  const listeners = new Set<ProxyListener>();
  for (const name of names) {
    if ((PROXY_LISTENERS as readonly string[]).includes(name)) listeners.add(name as ProxyListener);
    else problems.push(`FOTA_PROXY_PROTOCOL names "${name}"; it takes ${PROXY_LISTENERS.join(', ')} or off`);
  }
  if (listeners.size > 0 && trusted.empty) {
    problems.push(
      'FOTA_PROXY_PROTOCOL needs FOTA_TRUSTED_PROXIES: the addresses of the balancers that send the header',
    );
  }
  return { trusted, listeners, headerTimeoutMs: seconds('FOTA_PROXY_HEADER_TIMEOUT_S', '5') };
}

function readWebhooks(
  read: (name: string, fallback: string) => string,
  seconds: (name: string, fallback: string) => number,
  wholeNumber: (name: string, fallback: string, min: number, max: number) => number,
  problems: string[],
): WebhookSettings {
  const privateText = read('FOTA_WEBHOOK_ALLOW_PRIVATE', 'false').toLowerCase();
  if (!['true', 'false', '1', '0', 'yes', 'no'].includes(privateText)) {
    problems.push(`FOTA_WEBHOOK_ALLOW_PRIVATE must be true or false, not "${privateText}"`);
  }
  const retryBaseMs = seconds('FOTA_WEBHOOK_RETRY_BASE_S', '10');
  const retryMaxMs = seconds('FOTA_WEBHOOK_RETRY_MAX_S', '3600');
  if (retryMaxMs < retryBaseMs) problems.push('FOTA_WEBHOOK_RETRY_MAX_S must be at least FOTA_WEBHOOK_RETRY_BASE_S');
  return {
    allowPrivate: ['true', '1', 'yes'].includes(privateText),
    timeoutMs: seconds('FOTA_WEBHOOK_TIMEOUT_S', '10'),
    maxSubscriptions: wholeNumber('FOTA_WEBHOOK_MAX_SUBSCRIPTIONS', '100', 1, 10_000),
    retryBaseMs,
    retryMaxMs,
    maxAttempts: wholeNumber('FOTA_WEBHOOK_MAX_ATTEMPTS', '20', 1, 1000),
    maxAgeMs: seconds('FOTA_WEBHOOK_MAX_AGE_S', '259200'),
    pollMs: seconds('FOTA_WEBHOOK_POLL_S', '1'),
  };
}

function readRedis(
  read: (name: string, fallback: string) => string,
  seconds: (name: string, fallback: string) => number,
  problems: string[],
): RedisConfig | undefined {
  const url = read('FOTA_REDIS_URL', '');
  const nodeId = read('FOTA_NODE_ID', '');
  if (nodeId !== '' && !/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) {
    problems.push('FOTA_NODE_ID must be 1 to 64 letters, digits, - or _');
  }
  const presenceTtlMs = seconds('FOTA_REDIS_PRESENCE_TTL_S', '30');
  const requestTimeoutMs = seconds('FOTA_REDIS_REQUEST_TIMEOUT_S', '10');
  if (url === '') return undefined;
  if (!/^rediss?:\/\/[^\s]+$/.test(url)) {
    problems.push('FOTA_REDIS_URL must be a redis:// or rediss:// URL');
  }
  return { url, nodeId: nodeId === '' ? undefined : nodeId, presenceTtlMs, requestTimeoutMs };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function loadLinkit7681(
  read: (name: string, fallback: string) => string,
  port: (name: string, fallback: string) => number,
  seconds: (name: string, fallback: string) => number,
  wholeNumber: (name: string, fallback: string, min: number, max: number) => number,
  tcpPublicHost: string,
  problems: string[],
): Linkit7681Config | undefined {
  const enabledText = read('FOTA_LINKIT7681_ENABLED', 'false').toLowerCase();
  if (!['true', 'false', '1', '0', 'yes', 'no'].includes(enabledText)) {
    problems.push(`FOTA_LINKIT7681_ENABLED must be true or false, not "${enabledText}"`);
    return undefined;
  }
  if (!['true', '1', 'yes'].includes(enabledText)) return undefined;
  const listenPort = port('FOTA_LINKIT7681_PORT', '768');
  const publicText = read('FOTA_LINKIT7681_PUBLIC_PORT', String(listenPort));
  const publicPort = Number(publicText);
  if (!/^\d+$/.test(publicText) || publicPort < 1 || publicPort > 999) {
    problems.push(
      `FOTA_LINKIT7681_PUBLIC_PORT (by default FOTA_LINKIT7681_PORT) must be 1 to 999, not "${publicText}": the LinkIt 7681 board copies at most three port digits; listen below 1000, or forward a port 1-999 to FOTA_LINKIT7681_PORT and set FOTA_LINKIT7681_PUBLIC_PORT to it`,
    );
  }
  const publicHost = read('FOTA_LINKIT7681_PUBLIC_HOST', tcpPublicHost);
  if (!IPV4.test(publicHost)) {
    problems.push(
      `FOTA_LINKIT7681_PUBLIC_HOST (by default FOTA_TCP_PUBLIC_HOST) must be an IPv4 address, not "${publicHost}": the LinkIt 7681 board resolves no names`,
    );
  }
  return {
    port: listenPort,
    publicHost,
    publicPort,
    discoveryPort: port('FOTA_LINKIT7681_DISCOVERY_PORT', '80'),
    identifyTimeoutMs: seconds('FOTA_LINKIT7681_IDENTIFY_TIMEOUT_S', '10'),
    idleTimeoutMs: seconds('FOTA_LINKIT7681_IDLE_TIMEOUT_S', '120'),
    writeGapMs: wholeNumber('FOTA_LINKIT7681_WRITE_GAP_MS', '200', 0, 4000),
  };
}

/** The largest object one S3 CopyObject copies. */
export const MAX_S3_FIRMWARE_BYTES = 5 * 1024 ** 3;

function readBlobStorage(
  read: (name: string, fallback: string) => string,
  seconds: (name: string, fallback: string) => number,
  problems: string[],
): Config['blobStorage'] {
  const bucket = read('FOTA_S3_BUCKET', '');
  const s3Only = ['FOTA_S3_ENDPOINT', 'FOTA_S3_ACCESS_KEY_ID', 'FOTA_S3_SECRET_ACCESS_KEY', 'FOTA_S3_PREFIX'];
  if (bucket === '') {
    for (const name of s3Only) {
      if (read(name, '') !== '') problems.push(`${name} is set but FOTA_S3_BUCKET is not: set the bucket to use S3`);
    }
    return { kind: 'local' };
  }
  // S3's bucket naming rules (the strict, DNS-compatible ones).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    problems.push(
      `FOTA_S3_BUCKET must be a bucket name of 3 to 63 lower-case letters, digits, dots and hyphens, not "${bucket}"`,
    );
  }
  const endpointText = read('FOTA_S3_ENDPOINT', '');
  let endpoint: string | undefined;
  if (endpointText !== '') {
    endpoint = endpointText.replace(/\/+$/, '');
    if (!isHttpUrl(endpoint)) {
      problems.push(`FOTA_S3_ENDPOINT must be an http:// or https:// URL, not "${endpointText}"`);
    }
  }
  const region = read('FOTA_S3_REGION', 'us-east-1');
  if (!/^[a-z0-9-]{1,64}$/.test(region)) {
    problems.push(`FOTA_S3_REGION must be a region name such as us-east-1, not "${region}"`);
  }
  const accessKeyId = read('FOTA_S3_ACCESS_KEY_ID', '') || undefined;
  const secretAccessKey = read('FOTA_S3_SECRET_ACCESS_KEY', '') || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    problems.push(
      "FOTA_S3_ACCESS_KEY_ID and FOTA_S3_SECRET_ACCESS_KEY go together: set both, or neither for the AWS SDK's default credential chain",
    );
  }
  const pathStyleText = read('FOTA_S3_FORCE_PATH_STYLE', endpoint === undefined ? 'false' : 'true').toLowerCase();
  if (pathStyleText !== 'true' && pathStyleText !== 'false') {
    problems.push(`FOTA_S3_FORCE_PATH_STYLE must be true or false, not "${pathStyleText}"`);
  }
  const prefixText = read('FOTA_S3_PREFIX', '').replace(/^\/+/, '');
  const prefix = prefixText === '' || prefixText.endsWith('/') ? prefixText : `${prefixText}/`;
  if (!/^[A-Za-z0-9!_.*'()/-]{0,512}$/.test(prefix) || prefix.includes('//')) {
    problems.push(
      `FOTA_S3_PREFIX may hold letters, digits, / and !_.*'()- (no empty segment, at most 512), not "${prefixText}"`,
    );
  }
  return {
    kind: 's3',
    s3: {
      endpoint,
      bucket,
      region,
      accessKeyId,
      secretAccessKey,
      forcePathStyle: pathStyleText === 'true',
      prefix,
      stagingGraceMs: seconds('FOTA_S3_STAGING_GRACE_S', '86400'),
    },
  };
}

function readDownloads(
  read: (name: string, fallback: string) => string,
  storage: Config['blobStorage']['kind'],
  problems: string[],
): DownloadSettings {
  const mode = read('FOTA_DOWNLOAD_MODE', 'proxy');
  if (mode !== 'proxy' && mode !== 'redirect') {
    problems.push(`FOTA_DOWNLOAD_MODE must be proxy or redirect, not "${mode}"`);
  } else if (mode === 'redirect' && storage !== 's3') {
    problems.push(
      'FOTA_DOWNLOAD_MODE=redirect needs S3 storage (set FOTA_S3_BUCKET): with firmware in the data folder, fota serves downloads itself (proxy)',
    );
  }
  const ttlText = read('FOTA_DOWNLOAD_URL_TTL_S', '300');
  const urlTtlSeconds = Number(ttlText);
  // A presigned URL of AWS Signature Version 4 lasts at most 7 days.
  if (!/^\d+$/.test(ttlText) || urlTtlSeconds < 1 || urlTtlSeconds > 604_800) {
    problems.push(`FOTA_DOWNLOAD_URL_TTL_S must be a whole number of seconds from 1 to 604800, not "${ttlText}"`);
  }
  const cdnText = read('FOTA_DOWNLOAD_CDN_URL', '');
  let cdnUrl: string | undefined;
  if (cdnText !== '') {
    cdnUrl = cdnText.replace(/\/+$/, '');
    if (!isHttpUrl(cdnUrl) || /[?#]/.test(cdnUrl)) {
      problems.push(`FOTA_DOWNLOAD_CDN_URL must be an http:// or https:// URL without a query, not "${cdnText}"`);
    } else if (mode !== 'redirect') {
      problems.push('FOTA_DOWNLOAD_CDN_URL only applies with FOTA_DOWNLOAD_MODE=redirect: set both, or neither');
    }
  }
  return { mode: mode === 'redirect' ? 'redirect' : 'proxy', urlTtlSeconds, cdnUrl };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

function checkPublicUrl(publicUrl: string, problems: string[]): void {
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    problems.push(`FOTA_PUBLIC_URL must be an absolute http:// or https:// URL, not "${publicUrl}"`);
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push('FOTA_PUBLIC_URL must start with http:// or https://');
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    problems.push('FOTA_PUBLIC_URL must not have a query, a fragment or credentials');
  }
  if (/[,\s]/.test(publicUrl)) problems.push('FOTA_PUBLIC_URL must not contain commas or whitespace');
  const longest = longestFotaLineBytes(publicUrl);
  if (longest > MAX_FOTA_LINE_BYTES) {
    problems.push(
      `FOTA_PUBLIC_URL is too long: with a 32-character version a FOTA line would be ${longest} bytes, and MediaTek's C client reads at most ${MAX_FOTA_LINE_BYTES}; use a URL of at most ${publicUrl.length - (longest - MAX_FOTA_LINE_BYTES)} characters`,
    );
  }
}

/** A PostgreSQL URL; the problem never shows the password. */
function checkDatabaseUrl(text: string, problems: string[]): void {
  const form = 'postgres://user:password@host:5432/database';
  let url: URL;
  try {
    // Without `//` there is no user part to hide a password in: such a text is not shown at all.
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new Error('not a URL with a host');
    url = new URL(text);
  } catch {
    problems.push(`FOTA_DATABASE_URL must be a URL of the form ${form}`);
    return;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    problems.push(`FOTA_DATABASE_URL must be a URL of the form ${form}, not "${redactUrl(text)}"`);
  }
}
