import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configVariables,
  deviceEndpoints,
  editDistance,
  loadConfig,
  longestFotaLineBytes,
  MAX_FOTA_LINE_BYTES,
  unknownVariables,
} from './config.js';
import { TrustedProxies } from './net/trusted-proxies.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

/** A URL base of exactly `length` characters. */
const urlOfLength = (length: number): string => {
  const base = 'https://fota.example.com/';
  return base + 'p'.repeat(length - base.length);
};

describe('loadConfig', () => {
  it('has a default for everything', () => {
    expect(loadConfig({})).toEqual({
      httpPort: 8080,
      host: '0.0.0.0',
      dataDir: resolve('./data'),
      databaseUrl: undefined,
      databasePoolSize: 10,
      databaseConnectTimeoutMs: 10_000,
      publicUrl: 'http://localhost:8080',
      tcpPublicHost: '127.0.0.1',
      tcpPort: 4443,
      maxFirmwareBytes: 1024 ** 3,
      tcpHeartbeatTimeoutMs: 120_000,
      tcpEchoHeartbeat: true,
      mqttPort: 1883,
      maxDeviceConnections: 18_000,
      pushTimeouts: { queued: 86_400_000, sent: 600_000, delivered: 600_000, downloading: 3_600_000 },
      tcpWriteGapMs: 1000,
      maxUnidentifiedConnections: 18_000,
      mqttMaxPacketBytes: 8192,
      mqttIdentifyTimeoutMs: 30_000,
      authFailureBurst: 20,
      authFailuresPerMinute: 10,
      authThrottleAddresses: 10_000,
      accountFailureBurst: 10,
      accountLockMs: 300_000,
      sessionTtlMs: 43_200_000,
      maxChannelsPerDevice: 100,
      httpLimits: {
        maxConnections: 800,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        deviceRequestTimeoutMs: 10_000,
        idleTimeoutMs: 120_000,
        keepAliveTimeoutMs: 5_000,
      },
      adminToken: undefined,
      signingKek: undefined,
      logLevel: 'info',
      logFormat: 'auto',
      shutdownGraceMs: 10_000,
      blobSweepMinAgeMs: 3_600_000,
      blobStorage: { kind: 'local' },
      downloads: { mode: 'proxy', urlTtlSeconds: 300, cdnUrl: undefined },
      retention: {
        auditMaxAgeMs: 365 * 86_400_000,
        auditMaxEntries: 1_000_000,
        historyMaxAgeMs: 365 * 86_400_000,
        historyMaxPushes: undefined,
      },
      purgeIntervalMs: 3_600_000,
      webhooks: {
        allowPrivate: false,
        timeoutMs: 10_000,
        maxSubscriptions: 100,
        retryBaseMs: 10_000,
        retryMaxMs: 3_600_000,
        maxAttempts: 20,
        maxAgeMs: 259_200_000,
        pollMs: 1000,
      },
      proxies: { trusted: TrustedProxies.none, listeners: new Set(), headerTimeoutMs: 5000 },
    });
  });

  it('reads FOTA_SIGNING_KEK as 32 bytes in base64', () => {
    const kek = Buffer.alloc(32, 7);
    expect(loadConfig({ FOTA_SIGNING_KEK: kek.toString('base64') }).signingKek).toEqual(kek);
  });

  it('bases the default FOTA_PUBLIC_URL on FOTA_HTTP_PORT', () => {
    expect(loadConfig({ FOTA_HTTP_PORT: '18480' }).publicUrl).toBe('http://localhost:18480');
    expect(loadConfig({ FOTA_HTTP_PORT: '18480', FOTA_PUBLIC_URL: 'http://fw.example' }).publicUrl).toBe(
      'http://fw.example',
    );
  });

  it('refuses a FOTA_DATABASE_URL that is not PostgreSQL, or not a URL, without showing its password', () => {
    expect(() => loadConfig({ FOTA_DATABASE_URL: 'mysql://fota:s3cret@db/fota' })).toThrow(
      'FOTA_DATABASE_URL must be a URL of the form postgres://user:password@host:5432/database, not "mysql://fota:***@db/fota"',
    );
    expect(() => loadConfig({ FOTA_DATABASE_URL: 'fota:s3cret@db' })).toThrow(
      /FOTA_DATABASE_URL must be a URL of the form postgres:\/\/user:password@host:5432\/database$/m,
    );
    expect(() => loadConfig({ FOTA_DATABASE_URL: 'fota:s3cret@db' })).not.toThrow(/s3cret/);
    expect(loadConfig({ FOTA_DATABASE_URL: 'postgresql://db/fota' }).databaseUrl).toBe('postgresql://db/fota');
    expect(() => loadConfig({ FOTA_DATABASE_POOL_SIZE: '0' })).toThrow(
      'FOTA_DATABASE_POOL_SIZE must be a whole number from 1 to 10000, not "0"',
    );
  });

  it('treats empty variables as unset', () => {
    const empty = Object.fromEntries(configVariables.map(([name]) => [name, '']));
    expect(loadConfig(empty)).toEqual(loadConfig({}));
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        FOTA_HTTP_PORT: '80',
        FOTA_HOST: '127.0.0.1',
        FOTA_DATA_DIR: '/var/lib/fota',
        FOTA_DATABASE_URL: 'postgres://fota:pw@db.example:5432/fota',
        FOTA_DATABASE_POOL_SIZE: '25',
        FOTA_DATABASE_CONNECT_TIMEOUT_S: '3',
        FOTA_PUBLIC_URL: 'https://fw.example.com/base///',
        FOTA_TCP_PUBLIC_HOST: 'fw.example.com',
        FOTA_TCP_PORT: '443',
        FOTA_MAX_FIRMWARE_BYTES: '1048576',
        FOTA_TCP_HEARTBEAT_TIMEOUT_S: '0.5',
        FOTA_TCP_ECHO_HEARTBEAT: 'false',
        FOTA_MQTT_PORT: '8883',
        FOTA_MAX_DEVICE_CONNECTIONS: '500',
        FOTA_PUSH_QUEUED_TIMEOUT_S: '60',
        FOTA_PUSH_SENT_TIMEOUT_S: '5',
        FOTA_PUSH_DELIVERED_TIMEOUT_S: '6',
        FOTA_PUSH_DOWNLOADING_TIMEOUT_S: '7.5',
        FOTA_TCP_WRITE_GAP_MS: '0',
        FOTA_MAX_UNIDENTIFIED_CONNECTIONS: '50',
        FOTA_MQTT_MAX_PACKET_BYTES: '1024',
        FOTA_MQTT_IDENTIFY_TIMEOUT_S: '5',
        FOTA_AUTH_FAILURE_BURST: '3',
        FOTA_AUTH_FAILURES_PER_MINUTE: '2',
        FOTA_AUTH_THROTTLE_ADDRESSES: '99',
        FOTA_ACCOUNT_FAILURE_BURST: '4',
        FOTA_ACCOUNT_LOCK_S: '60',
        FOTA_SESSION_TTL_S: '3600',
        FOTA_MAX_CHANNELS_PER_DEVICE: '7',
        FOTA_MAX_HTTP_CONNECTIONS: '20',
        FOTA_HTTP_HEADERS_TIMEOUT_S: '1',
        FOTA_HTTP_REQUEST_TIMEOUT_S: '2',
        FOTA_HTTP_DEVICE_REQUEST_TIMEOUT_S: '3',
        FOTA_HTTP_IDLE_TIMEOUT_S: '4',
        FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S: '0.5',
        FOTA_ADMIN_TOKEN: 'sixteen-chars-ok',
        FOTA_LOG_LEVEL: 'silent',
        FOTA_LOG_FORMAT: 'json',
        FOTA_SHUTDOWN_GRACE_S: '2.5',
        FOTA_BLOB_SWEEP_MIN_AGE_S: '90',
        FOTA_S3_BUCKET: 'fota-firmware',
        FOTA_S3_ENDPOINT: 'http://s3.example.com:9000/',
        FOTA_S3_REGION: 'eu-west-3',
        FOTA_S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
        FOTA_S3_SECRET_ACCESS_KEY: 'secret/with+signs',
        FOTA_S3_FORCE_PATH_STYLE: 'false',
        FOTA_S3_PREFIX: '/prod/fota',
        FOTA_S3_STAGING_GRACE_S: '600',
        FOTA_DOWNLOAD_MODE: 'redirect',
        FOTA_DOWNLOAD_URL_TTL_S: '60',
        FOTA_DOWNLOAD_CDN_URL: 'https://cdn.example.com/fw/',
        FOTA_AUDIT_RETENTION_DAYS: '30',
        FOTA_AUDIT_MAX_ENTRIES: '5000',
        FOTA_HISTORY_RETENTION_DAYS: '0',
        FOTA_HISTORY_MAX_PUSHES: '200',
        FOTA_PURGE_INTERVAL_S: '60',
        FOTA_WEBHOOK_ALLOW_PRIVATE: 'true',
        FOTA_WEBHOOK_TIMEOUT_S: '5',
        FOTA_WEBHOOK_MAX_SUBSCRIPTIONS: '3',
        FOTA_WEBHOOK_RETRY_BASE_S: '0.5',
        FOTA_WEBHOOK_RETRY_MAX_S: '60',
        FOTA_WEBHOOK_MAX_ATTEMPTS: '7',
        FOTA_WEBHOOK_MAX_AGE_S: '3600',
        FOTA_WEBHOOK_POLL_S: '0.25',
        FOTA_TRUSTED_PROXIES: ' 10.0.0.1, 2001:db8::/32 ',
        FOTA_PROXY_PROTOCOL: 'TCP,mqtt',
        FOTA_PROXY_HEADER_TIMEOUT_S: '2',
      }),
    ).toEqual({
      httpPort: 80,
      host: '127.0.0.1',
      dataDir: '/var/lib/fota',
      databaseUrl: 'postgres://fota:pw@db.example:5432/fota',
      databasePoolSize: 25,
      databaseConnectTimeoutMs: 3_000,
      publicUrl: 'https://fw.example.com/base',
      tcpPublicHost: 'fw.example.com',
      tcpPort: 443,
      maxFirmwareBytes: 1048576,
      tcpHeartbeatTimeoutMs: 500,
      tcpEchoHeartbeat: false,
      mqttPort: 8883,
      maxDeviceConnections: 500,
      pushTimeouts: { queued: 60_000, sent: 5_000, delivered: 6_000, downloading: 7_500 },
      tcpWriteGapMs: 0,
      maxUnidentifiedConnections: 50,
      mqttMaxPacketBytes: 1024,
      mqttIdentifyTimeoutMs: 5000,
      authFailureBurst: 3,
      authFailuresPerMinute: 2,
      authThrottleAddresses: 99,
      accountFailureBurst: 4,
      accountLockMs: 60_000,
      sessionTtlMs: 3_600_000,
      maxChannelsPerDevice: 7,
      httpLimits: {
        maxConnections: 20,
        headersTimeoutMs: 1000,
        requestTimeoutMs: 2000,
        deviceRequestTimeoutMs: 3000,
        idleTimeoutMs: 4000,
        keepAliveTimeoutMs: 500,
      },
      adminToken: 'sixteen-chars-ok',
      signingKek: undefined,
      logLevel: 'silent',
      logFormat: 'json',
      shutdownGraceMs: 2500,
      blobSweepMinAgeMs: 90_000,
      blobStorage: {
        kind: 's3',
        s3: {
          endpoint: 'http://s3.example.com:9000',
          bucket: 'fota-firmware',
          region: 'eu-west-3',
          accessKeyId: 'AKIAEXAMPLE',
          secretAccessKey: 'secret/with+signs',
          forcePathStyle: false,
          prefix: 'prod/fota/',
          stagingGraceMs: 600_000,
        },
      },
      downloads: { mode: 'redirect', urlTtlSeconds: 60, cdnUrl: 'https://cdn.example.com/fw' },
      retention: {
        auditMaxAgeMs: 30 * 86_400_000,
        auditMaxEntries: 5000,
        historyMaxAgeMs: undefined,
        historyMaxPushes: 200,
      },
      purgeIntervalMs: 60_000,
      webhooks: {
        allowPrivate: true,
        timeoutMs: 5000,
        maxSubscriptions: 3,
        retryBaseMs: 500,
        retryMaxMs: 60_000,
        maxAttempts: 7,
        maxAgeMs: 3_600_000,
        pollMs: 250,
      },
      proxies: {
        trusted: TrustedProxies.parse('10.0.0.1,2001:db8::/32'),
        listeners: new Set(['tcp', 'mqtt']),
        headerTimeoutMs: 2000,
      },
    });
  });

  it.each<[string, string, RegExp]>([
    ['FOTA_HTTP_PORT', 'abc', /port number from 0 to 65535, not "abc"/],
    ['FOTA_TRUSTED_PROXIES', '10.0.0.300', /FOTA_TRUSTED_PROXIES: "10.0.0.300" is not an IPv4 or IPv6 address/],
    ['FOTA_TRUSTED_PROXIES', '10.0.0.0/33', /"10.0.0.0\/33" has a prefix length outside 0..32/],
    ['FOTA_TRUSTED_PROXIES', 'fd00::/129', /"fd00::\/129" has a prefix length outside 0..128/],
    ['FOTA_TRUSTED_PROXIES', 'balancer.example.com', /is not an IPv4 or IPv6 address/],
    ['FOTA_PROXY_PROTOCOL', 'tcp', /FOTA_PROXY_PROTOCOL needs FOTA_TRUSTED_PROXIES/],
    ['FOTA_PROXY_PROTOCOL', 'smtp', /FOTA_PROXY_PROTOCOL names "smtp"; it takes tcp, mqtt, linkit7681, http or off/],
    ['FOTA_PROXY_HEADER_TIMEOUT_S', '0', /FOTA_PROXY_HEADER_TIMEOUT_S must be a number of seconds above 0/],
    ['FOTA_WEBHOOK_ALLOW_PRIVATE', 'maybe', /FOTA_WEBHOOK_ALLOW_PRIVATE must be true or false, not "maybe"/],
    ['FOTA_WEBHOOK_MAX_ATTEMPTS', '0', /FOTA_WEBHOOK_MAX_ATTEMPTS must be a whole number from 1 to 1000/],
    ['FOTA_WEBHOOK_RETRY_MAX_S', '1', /FOTA_WEBHOOK_RETRY_MAX_S must be at least FOTA_WEBHOOK_RETRY_BASE_S/],
    ['FOTA_WEBHOOK_TIMEOUT_S', '0', /FOTA_WEBHOOK_TIMEOUT_S must be a number of seconds above 0/],
    ['FOTA_HTTP_PORT', '-1', /port number/],
    ['FOTA_HTTP_PORT', '65536', /port number/],
    ['FOTA_HTTP_PORT', '80.5', /port number/],
    ['FOTA_HTTP_PORT', ' 80', /port number/],
    ['FOTA_TCP_PORT', '70000', /port number/],
    ['FOTA_PUBLIC_URL', 'not a url', /absolute http:\/\/ or https:\/\/ URL/],
    ['FOTA_PUBLIC_URL', '/relative/path', /absolute/],
    ['FOTA_PUBLIC_URL', 'ftp://files.example.com', /start with http:\/\/ or https:\/\//],
    ['FOTA_PUBLIC_URL', 'localhost:8080', /start with http:\/\/ or https:\/\//],
    ['FOTA_PUBLIC_URL', 'http://example.com/?a=1', /query, a fragment or credentials/],
    ['FOTA_PUBLIC_URL', 'http://example.com/#top', /query, a fragment or credentials/],
    ['FOTA_PUBLIC_URL', 'http://user:secret@example.com', /query, a fragment or credentials/],
    ['FOTA_PUBLIC_URL', 'http://example.com/a,b', /commas or whitespace/],
    ['FOTA_PUBLIC_URL', urlOfLength(62), /too long: .* 200 bytes, .* at most 199; use a URL of at most 61 characters/],
    ['FOTA_TCP_HEARTBEAT_TIMEOUT_S', '0', /FOTA_TCP_HEARTBEAT_TIMEOUT_S must be a number of seconds above 0/],
    ['FOTA_TCP_HEARTBEAT_TIMEOUT_S', 'soon', /FOTA_TCP_HEARTBEAT_TIMEOUT_S must be a number of seconds/],
    ['FOTA_PUSH_SENT_TIMEOUT_S', '-5', /FOTA_PUSH_SENT_TIMEOUT_S must be a number of seconds/],
    ['FOTA_PUSH_DOWNLOADING_TIMEOUT_S', 'later', /FOTA_PUSH_DOWNLOADING_TIMEOUT_S must be a number of seconds/],
    ['FOTA_TCP_WRITE_GAP_MS', '1.5', /FOTA_TCP_WRITE_GAP_MS must be a whole number of milliseconds/],
    ['FOTA_TCP_WRITE_GAP_MS', '60001', /FOTA_TCP_WRITE_GAP_MS must be a whole number of milliseconds/],
    ['FOTA_TCP_ECHO_HEARTBEAT', 'maybe', /FOTA_TCP_ECHO_HEARTBEAT must be true or false/],
    ['FOTA_MQTT_PORT', '99999', /FOTA_MQTT_PORT must be a port number/],
    ['FOTA_MAX_DEVICE_CONNECTIONS', '0', /FOTA_MAX_DEVICE_CONNECTIONS must be a whole number from 1/],
    ['FOTA_MAX_DEVICE_CONNECTIONS', 'many', /FOTA_MAX_DEVICE_CONNECTIONS must be a whole number/],
    ['FOTA_MAX_UNIDENTIFIED_CONNECTIONS', '0', /FOTA_MAX_UNIDENTIFIED_CONNECTIONS must be a whole number from 1/],
    ['FOTA_MQTT_MAX_PACKET_BYTES', '100', /FOTA_MQTT_MAX_PACKET_BYTES must be a whole number from 512 to 268435455/],
    ['FOTA_MQTT_MAX_PACKET_BYTES', '1e6', /FOTA_MQTT_MAX_PACKET_BYTES must be a whole number/],
    ['FOTA_MQTT_IDENTIFY_TIMEOUT_S', '0', /FOTA_MQTT_IDENTIFY_TIMEOUT_S must be a number of seconds above 0/],
    ['FOTA_AUTH_FAILURE_BURST', '0', /FOTA_AUTH_FAILURE_BURST must be a whole number from 1/],
    ['FOTA_AUTH_FAILURES_PER_MINUTE', 'fast', /FOTA_AUTH_FAILURES_PER_MINUTE must be a whole number/],
    ['FOTA_AUTH_THROTTLE_ADDRESSES', '-1', /FOTA_AUTH_THROTTLE_ADDRESSES must be a whole number/],
    ['FOTA_ACCOUNT_FAILURE_BURST', '0', /FOTA_ACCOUNT_FAILURE_BURST must be a whole number/],
    ['FOTA_SESSION_TTL_S', '0', /FOTA_SESSION_TTL_S must be a number of seconds/],
    ['FOTA_MAX_CHANNELS_PER_DEVICE', '0', /FOTA_MAX_CHANNELS_PER_DEVICE must be a whole number from 1/],
    ['FOTA_MAX_HTTP_CONNECTIONS', '0', /FOTA_MAX_HTTP_CONNECTIONS must be a whole number from 1/],
    ['FOTA_HTTP_HEADERS_TIMEOUT_S', '0', /FOTA_HTTP_HEADERS_TIMEOUT_S must be a number of seconds above 0/],
    ['FOTA_HTTP_REQUEST_TIMEOUT_S', 'long', /FOTA_HTTP_REQUEST_TIMEOUT_S must be a number of seconds/],
    ['FOTA_HTTP_DEVICE_REQUEST_TIMEOUT_S', '-1', /FOTA_HTTP_DEVICE_REQUEST_TIMEOUT_S must be a number of seconds/],
    ['FOTA_HTTP_IDLE_TIMEOUT_S', '0', /FOTA_HTTP_IDLE_TIMEOUT_S must be a number of seconds/],
    ['FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S', 'x', /FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S must be a number of seconds/],
    ['FOTA_TCP_PUBLIC_HOST', 'a,b', /commas or whitespace/],
    ['FOTA_TCP_PUBLIC_HOST', 'a b', /commas or whitespace/],
    ['FOTA_MAX_FIRMWARE_BYTES', '0', /positive whole number of bytes, not "0"/],
    ['FOTA_MAX_FIRMWARE_BYTES', '-5', /positive whole number/],
    ['FOTA_MAX_FIRMWARE_BYTES', '1.5', /positive whole number/],
    ['FOTA_MAX_FIRMWARE_BYTES', '1e9', /positive whole number/],
    ['FOTA_MAX_FIRMWARE_BYTES', '1GB', /positive whole number/],
    ['FOTA_MAX_FIRMWARE_BYTES', '99999999999999999999', /positive whole number/],
    ['FOTA_ADMIN_TOKEN', 'fifteen-chars-x', /at least 16 characters without whitespace/],
    ['FOTA_ADMIN_TOKEN', 'a token with spaces in it', /at least 16 characters without whitespace/],
    ['FOTA_SIGNING_KEK', Buffer.alloc(31).toString('base64'), /32 bytes in base64/],
    ['FOTA_SIGNING_KEK', 'not base64 at all!', /32 bytes in base64/],
    ['FOTA_LOG_LEVEL', 'verbose', /one of fatal, error, warn, info, debug, trace, silent/],
    ['FOTA_LOG_FORMAT', 'text', /FOTA_LOG_FORMAT must be json, pretty or auto, not "text"/],
    ['FOTA_BLOB_SWEEP_MIN_AGE_S', '0', /FOTA_BLOB_SWEEP_MIN_AGE_S must be a number of seconds above 0/],
    ['FOTA_SHUTDOWN_GRACE_S', '-1', /FOTA_SHUTDOWN_GRACE_S must be a number of seconds from 0 to 3600/],
    ['FOTA_SHUTDOWN_GRACE_S', '3601', /FOTA_SHUTDOWN_GRACE_S must be a number of seconds/],
    ['FOTA_SHUTDOWN_GRACE_S', 'later', /FOTA_SHUTDOWN_GRACE_S must be a number of seconds/],
    ['FOTA_AUDIT_RETENTION_DAYS', '-1', /whole number from 0 to 36500/],
    ['FOTA_AUDIT_RETENTION_DAYS', '36501', /whole number from 0 to 36500/],
    ['FOTA_AUDIT_MAX_ENTRIES', '1.5', /whole number from 0 to 1000000000/],
    ['FOTA_HISTORY_RETENTION_DAYS', 'forever', /whole number from 0 to 36500/],
    ['FOTA_HISTORY_MAX_PUSHES', '-3', /whole number from 0/],
    ['FOTA_PURGE_INTERVAL_S', '0', /number of seconds above 0/],
  ])('%s=%j is refused with one problem naming it', (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
    expect(problems[0]).toMatch(message);
  });

  it('reports every problem at once, in a message that lists them', () => {
    let caught: unknown;
    try {
      loadConfig({ FOTA_HTTP_PORT: 'x', FOTA_LOG_LEVEL: 'loud', FOTA_MAX_FIRMWARE_BYTES: '0' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.problems).toHaveLength(3);
    expect(error.message).toBe(`invalid configuration:\n${error.problems.map((p) => `  - ${p}`).join('\n')}`);
  });

  it.each<[string, string, boolean]>([
    ['127.0.0.1', '4443', true],
    ['123.123.123.123', '4443', true],
    ['123.123.123.123', '44443', false],
    ['fota.example.com', '443', true],
    ['fota.example.com', '4443', false],
    ['a-very-long-host.example.com', '1', false],
  ])('connections.csv "%s,%s" within 20 characters: %s', (host, port, accepted) => {
    const problems = problemsOf({ FOTA_TCP_PUBLIC_HOST: host, FOTA_TCP_PORT: port });
    if (accepted) {
      expect(problems).toEqual([]);
    } else {
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('FOTA_TCP_PUBLIC_HOST and FOTA_TCP_PORT');
      expect(problems[0]).toContain(`"${host},${port}" (${host.length + 1 + port.length} characters)`);
    }
  });
});

describe('the FOTA line limit', () => {
  /** The longest line a device can get, built field by field as the TCP server sends a push. */
  const longestLine = (publicUrl: string): string =>
    ['D1234567', 'TPJVxxxxxxxxBxBv', '1513132150790', 'FOTA', '9'.repeat(32), 'f'.repeat(32)].join(',') +
    `,${publicUrl}/fw/p/aB3dE5gH7jK9mN1pQ3sT5`;

  it.each(['http://localhost:8080', urlOfLength(61), urlOfLength(62), 'https://ü.example/😀'])(
    'counts the bytes of the longest line for %s',
    (publicUrl) => {
      expect(longestFotaLineBytes(publicUrl)).toBe(Buffer.byteLength(longestLine(publicUrl)));
    },
  );

  it.each<[string, string, boolean]>([
    ['a URL exactly at the limit', urlOfLength(61), true],
    ['the same URL with a trailing slash', `${urlOfLength(61)}/`, true],
    ['one character more', urlOfLength(62), false],
    ['far too long', urlOfLength(150), false],
  ])('%s: accepted %s', (_label, publicUrl, accepted) => {
    const problems = problemsOf({ FOTA_PUBLIC_URL: publicUrl });
    const bytes = Buffer.byteLength(longestLine(publicUrl.replace(/\/+$/, '')));
    expect(bytes <= MAX_FOTA_LINE_BYTES).toBe(accepted);
    if (accepted) {
      expect(bytes).toBeLessThanOrEqual(199);
      expect(problems).toEqual([]);
    } else {
      expect(problems).toEqual([expect.stringContaining(`FOTA_PUBLIC_URL is too long`)]);
    }
  });

  it('a URL at the limit gives a line that fits a 200-byte buffer with its NUL', () => {
    expect(Buffer.byteLength(longestLine(urlOfLength(61))) + 1).toBe(200);
  });
});

describe('unknown FOTA_* variables', () => {
  it.each<[string, string, number]>([
    ['FOTA_HTTP_PORT', 'FOTA_HTTP_PORT', 0],
    ['FOTA_HTTP_PROT', 'FOTA_HTTP_PORT', 2],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
    ['abc', '', 3],
  ])('editDistance(%j, %j) is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it.each<[string, string | undefined]>([
    ['FOTA_HTTP_PROT', 'FOTA_HTTP_PORT'],
    ['FOTA_TCP_PROT', 'FOTA_TCP_PORT'],
    ['FOTA_DATADIR', 'FOTA_DATA_DIR'],
    ['FOTA_MAX_DEVICE_CONNECTION', 'FOTA_MAX_DEVICE_CONNECTIONS'],
    ['FOTA_LOGLEVEL', 'FOTA_LOG_LEVEL'],
    ['FOTA_TOKN', 'FOTA_TOKEN'],
    ['FOTA_SOMETHING_ELSE_ENTIRELY', undefined],
  ])('%s is reported, with %s as the closest known name', (name, closest) => {
    expect(unknownVariables({ [name]: '1' })).toEqual([{ name, closest }]);
  });

  it('knows every server setting and the client variables, and ignores other names', () => {
    const known = Object.fromEntries(configVariables.map(([name]) => [name, 'x']));
    expect(
      unknownVariables({ ...known, FOTA_URL: 'x', FOTA_TOKEN: 'x', FOTA_MQTT_URL: 'x', PATH: '/bin', fota_x: '1' }),
    ).toEqual([]);
  });
});

describe('S3 storage and download settings', () => {
  const s3 = { FOTA_S3_BUCKET: 'fota-firmware' };

  it('uses the data folder unless FOTA_S3_BUCKET is set', () => {
    expect(loadConfig({}).blobStorage).toEqual({ kind: 'local' });
    expect(loadConfig(s3).blobStorage).toEqual({
      kind: 's3',
      s3: {
        endpoint: undefined,
        bucket: 'fota-firmware',
        region: 'us-east-1',
        accessKeyId: undefined,
        secretAccessKey: undefined,
        forcePathStyle: false,
        prefix: '',
        stagingGraceMs: 86_400_000,
      },
    });
  });

  it('addresses the bucket by path by default once an endpoint is set', () => {
    const config = loadConfig({ ...s3, FOTA_S3_ENDPOINT: 'http://127.0.0.1:9000' });
    expect(config.blobStorage.kind === 's3' && config.blobStorage.s3.forcePathStyle).toBe(true);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ FOTA_S3_BUCKET: 'Fota_Firmware' }, /^FOTA_S3_BUCKET must be a bucket name/],
    [{ FOTA_S3_BUCKET: 'ab' }, /^FOTA_S3_BUCKET must be a bucket name/],
    [{ ...s3, FOTA_S3_ENDPOINT: 's3.example.com' }, /^FOTA_S3_ENDPOINT must be an http/],
    [{ ...s3, FOTA_S3_ENDPOINT: 'http://key:secret@s3.example.com' }, /^FOTA_S3_ENDPOINT must be an http/],
    [{ ...s3, FOTA_S3_REGION: 'EU West' }, /^FOTA_S3_REGION must be a region name/],
    [{ ...s3, FOTA_S3_ACCESS_KEY_ID: 'AKIA' }, /^FOTA_S3_ACCESS_KEY_ID and FOTA_S3_SECRET_ACCESS_KEY go together/],
    [{ ...s3, FOTA_S3_SECRET_ACCESS_KEY: 'x' }, /^FOTA_S3_ACCESS_KEY_ID and FOTA_S3_SECRET_ACCESS_KEY go together/],
    [{ ...s3, FOTA_S3_FORCE_PATH_STYLE: 'maybe' }, /^FOTA_S3_FORCE_PATH_STYLE must be true or false/],
    [{ ...s3, FOTA_S3_PREFIX: 'a b' }, /^FOTA_S3_PREFIX may hold/],
    [{ ...s3, FOTA_S3_PREFIX: 'a//b' }, /^FOTA_S3_PREFIX may hold/],
    [{ ...s3, FOTA_S3_STAGING_GRACE_S: '0' }, /^FOTA_S3_STAGING_GRACE_S must be a number of seconds/],
    [{ FOTA_S3_ENDPOINT: 'http://127.0.0.1:9000' }, /^FOTA_S3_ENDPOINT is set but FOTA_S3_BUCKET is not/],
    [{ ...s3, FOTA_MAX_FIRMWARE_BYTES: String(5 * 1024 ** 3 + 1) }, /^FOTA_MAX_FIRMWARE_BYTES is at most 5368709120/],
    [{ FOTA_DOWNLOAD_MODE: 'cdn' }, /^FOTA_DOWNLOAD_MODE must be proxy or redirect/],
    [{ FOTA_DOWNLOAD_MODE: 'redirect' }, /^FOTA_DOWNLOAD_MODE=redirect needs S3 storage \(set FOTA_S3_BUCKET\)/],
    [
      { ...s3, FOTA_DOWNLOAD_URL_TTL_S: '0' },
      /^FOTA_DOWNLOAD_URL_TTL_S must be a whole number of seconds from 1 to 604800/,
    ],
    [{ ...s3, FOTA_DOWNLOAD_URL_TTL_S: '604801' }, /^FOTA_DOWNLOAD_URL_TTL_S must be/],
    [
      { ...s3, FOTA_DOWNLOAD_MODE: 'redirect', FOTA_DOWNLOAD_CDN_URL: 'cdn.example.com' },
      /^FOTA_DOWNLOAD_CDN_URL must be/,
    ],
    [
      { ...s3, FOTA_DOWNLOAD_MODE: 'redirect', FOTA_DOWNLOAD_CDN_URL: 'https://c.example/?a=1' },
      /^FOTA_DOWNLOAD_CDN_URL must be/,
    ],
    [
      { ...s3, FOTA_DOWNLOAD_CDN_URL: 'https://cdn.example.com' },
      /^FOTA_DOWNLOAD_CDN_URL only applies with FOTA_DOWNLOAD_MODE=redirect/,
    ],
  ])('%j is refused with one problem that says why', (env, problem) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });

  it('never puts the secret key into a problem', () => {
    const problems = problemsOf({ ...s3, FOTA_S3_SECRET_ACCESS_KEY: 'very-secret-value' });
    expect(problems.join('\n')).not.toContain('very-secret-value');
  });
});

describe('deviceEndpoints', () => {
  it('says what devices are told: downloads, the TCP server as connections.csv answers, MQTT', () => {
    const config = loadConfig({ FOTA_HOST: '127.0.0.1', FOTA_HTTP_PORT: '18480', FOTA_TCP_PORT: '4443' });
    expect(deviceEndpoints(config)).toEqual({
      downloads: 'http://localhost:18480/fw/',
      tcp: '127.0.0.1,4443',
      mqtt: '127.0.0.1:1883',
      warnings: [],
    });
  });

  it.each<[Record<string, string>, string[]]>([
    [{}, ['FOTA_PUBLIC_URL', 'FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_HOST: '::' }, ['FOTA_PUBLIC_URL', 'FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_PUBLIC_URL: 'http://127.0.0.1:8080' }, ['FOTA_PUBLIC_URL', 'FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_PUBLIC_URL: 'http://[::1]:8080' }, ['FOTA_PUBLIC_URL', 'FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_PUBLIC_URL: 'http://192.168.1.5:8080' }, ['FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_PUBLIC_URL: 'http://192.168.1.5:8080', FOTA_TCP_PUBLIC_HOST: '192.168.1.5' }, []],
    [{ FOTA_HOST: '127.0.0.1' }, []],
  ])('with %j, warns about loopback addresses naming %j', (env, named) => {
    const { warnings } = deviceEndpoints(loadConfig(env));
    expect(warnings).toHaveLength(named.length);
    named.forEach((name, index) => expect(warnings[index]).toContain(name));
  });
});

describe('Redis settings', () => {
  it('leaves Redis out unless FOTA_REDIS_URL is set, and reads the rest with it', () => {
    expect(loadConfig({ FOTA_NODE_ID: 'a' }).redis).toBeUndefined();
    expect(loadConfig({ FOTA_REDIS_URL: 'redis://10.0.0.5:6379/2' }).redis).toEqual({
      url: 'redis://10.0.0.5:6379/2',
      nodeId: undefined,
      presenceTtlMs: 30_000,
      requestTimeoutMs: 10_000,
    });
    expect(
      loadConfig({
        FOTA_REDIS_URL: 'rediss://:secret@redis.example:6380',
        FOTA_NODE_ID: 'node-1_a',
        FOTA_REDIS_PRESENCE_TTL_S: '3',
        FOTA_REDIS_REQUEST_TIMEOUT_S: '2.5',
      }).redis,
    ).toEqual({
      url: 'rediss://:secret@redis.example:6380',
      nodeId: 'node-1_a',
      presenceTtlMs: 3000,
      requestTimeoutMs: 2500,
    });
  });

  it.each([
    [{ FOTA_REDIS_URL: 'http://redis:6379' }, 'FOTA_REDIS_URL must be a redis:// or rediss:// URL'],
    [{ FOTA_NODE_ID: 'a b' }, 'FOTA_NODE_ID must be 1 to 64 letters, digits, - or _'],
    [{ FOTA_NODE_ID: 'n'.repeat(65) }, 'FOTA_NODE_ID must be 1 to 64 letters, digits, - or _'],
    [{ FOTA_REDIS_PRESENCE_TTL_S: '0' }, 'FOTA_REDIS_PRESENCE_TTL_S must be a number of seconds above 0'],
    [{ FOTA_REDIS_REQUEST_TIMEOUT_S: 'soon' }, 'FOTA_REDIS_REQUEST_TIMEOUT_S must be a number of seconds above 0'],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('LinkIt Connect 7681 settings', () => {
  it('is off by default', () => {
    expect(loadConfig({}).linkit7681).toBeUndefined();
  });

  it('reads the command server, discovery and timeouts when enabled', () => {
    expect(loadConfig({ FOTA_LINKIT7681_ENABLED: 'true', FOTA_TCP_PUBLIC_HOST: '192.168.1.50' }).linkit7681).toEqual({
      port: 768,
      publicHost: '192.168.1.50',
      publicPort: 768,
      discoveryPort: 80,
      identifyTimeoutMs: 10_000,
      idleTimeoutMs: 120_000,
      writeGapMs: 200,
    });
  });

  it.each([['4443'], ['0'], ['1000']])('refuses an advertised port %s: the board copies three digits', (port) => {
    expect(problemsOf({ FOTA_LINKIT7681_ENABLED: 'true', FOTA_LINKIT7681_PORT: port })).toEqual([
      expect.stringMatching(/FOTA_LINKIT7681_PUBLIC_PORT .* must be 1 to 999, .*copies at most three port digits/),
    ]);
  });

  it('binds any port when the advertised one is forwarded to it', () => {
    const config = loadConfig({
      FOTA_LINKIT7681_ENABLED: 'yes',
      FOTA_LINKIT7681_PORT: '0',
      FOTA_LINKIT7681_PUBLIC_PORT: '999',
      FOTA_LINKIT7681_PUBLIC_HOST: '10.0.0.7',
    });
    expect(config.linkit7681).toMatchObject({ port: 0, publicPort: 999, publicHost: '10.0.0.7' });
  });

  it('refuses a host name: the board resolves no names', () => {
    expect(problemsOf({ FOTA_LINKIT7681_ENABLED: 'true', FOTA_LINKIT7681_PUBLIC_HOST: 'fota.example.com' })).toEqual([
      expect.stringMatching(/FOTA_LINKIT7681_PUBLIC_HOST .* must be an IPv4 address/),
    ]);
    expect(problemsOf({ FOTA_LINKIT7681_ENABLED: 'maybe' })).toEqual([
      expect.stringMatching(/FOTA_LINKIT7681_ENABLED must be true or false/),
    ]);
  });
});
