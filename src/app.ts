import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config/index.js';
import { openDatabase } from './db/open.js';
import { SqlAccountRepository } from './db/repositories/accounts.js';
import { SqlAuditLog } from './db/repositories/audit.js';
import { SqlChannelValueRepository } from './db/repositories/channel-values.js';
import { SqlDeviceRepository } from './db/repositories/devices.js';
import { SqlFirmwareRepository } from './db/repositories/firmwares.js';
import { SqlPrototypeRepository } from './db/repositories/prototypes.js';
import { SqlPushRepository } from './db/repositories/pushes.js';
import { SqlSettingsRepository } from './db/repositories/settings.js';
import { SqlSigningRepository } from './db/repositories/signing.js';
import { SqlWebhookRepository } from './db/repositories/webhooks.js';
import { LocalEventBus } from './domain/events.js';
import type { Protocol } from './domain/model.js';
import type { Clock } from './domain/ports.js';
import { AccountService } from './domain/services/accounts.js';
import { AdminTokens } from './domain/services/admin-tokens.js';
import { AuditService } from './domain/services/audit.js';
import { Retention } from './domain/services/retention.js';
import { DeviceConnections } from './domain/services/connections.js';
import { DataPointService } from './domain/services/data-points.js';
import { DeviceSelfService } from './domain/services/device-self.js';
import { DeviceService } from './domain/services/devices.js';
import { FirmwareBlobs } from './domain/services/firmware-blobs.js';
import { FirmwareService } from './domain/services/firmwares.js';
import { PrototypeService } from './domain/services/prototypes.js';
import { PushService } from './domain/services/pushes.js';
import { SigningService } from './domain/services/signing.js';
import { WebhookService } from './domain/services/webhooks.js';
import { WebhookDeliverer } from './domain/webhooks/deliverer.js';
import { HttpWebhookSender, urlRefusal } from './net/webhook-sender.js';
import { buildHttpServer } from './http/server.js';
import type { HttpServices } from './http/services.js';
import { startMqttBroker, type MqttBroker } from './transports/mcs-mqtt/broker.js';
import { AuthThrottle, type AuthThrottleOptions, type FailureThrottle } from './net/auth-throttle.js';
import { RedisCluster } from './bus/redis/cluster.js';
import { listenOn } from './net/listen-error.js';
import type { ProxyListener, ProxyProtocolSetting } from './net/proxy-gate.js';
import { SocketBudget } from './net/socket-budget.js';
import { lockDataDir } from './storage/data-dir-lock.js';
import { openBlobStorage, type BlobStorage } from './storage/blob-storage.js';
import { startTcpCommandServer, type TcpCommandServer } from './transports/mcs-tcp/server.js';
import { linkit7681Transports } from './transports/linkit7681/index.js';
import { packageVersion } from './version.js';

export interface App {
  readonly http: FastifyInstance;
  readonly services: HttpServices;
  readonly logger: Logger;
  /**
   * The admin token generated on this start, once every server listens (its hash is stored only
   * then, so a start that fails loses no token); shown once, undefined otherwise.
   */
  readonly generatedAdminToken: string | undefined;
  /** The base URL the HTTP server listens on, once started. */
  url(): string;
  /** The TCP command server, once started. */
  tcp(): TcpCommandServer | undefined;
  /** The MQTT broker, once started. */
  mqtt(): MqttBroker | undefined;
  /** Listens on every port, then prepares the admin token; on failure, closes what it opened. */
  start(): Promise<void>;
  /** Stops accepting, lets requests in flight finish, closes everything and frees the data folder. */
  stop(): Promise<void>;
}

const systemClock: Clock = { now: () => new Date() };

/** How this process serves: alone, or as a worker of `fota serve --workers`. */
export interface AppRole {
  /**
   * A worker: the primary holds the data folder's lock, has migrated and swept it, and stays up
   * while the workers share its database file and blob folder.
   */
  readonly worker: boolean;
}

/** The composition root: reads the config once and picks every implementation. */
export async function createApp(
  config: Config,
  logger: Logger = pino({ level: config.logLevel }),
  role: AppRole = { worker: false },
): Promise<App> {
  // Before anything touches the folder: the start-up clean-up would delete another server's uploads.
  const lock = role.worker
    ? { release: () => undefined }
    : lockDataDir(config.dataDir, 'stop it first, or give this server a FOTA_DATA_DIR of its own');
  try {
    return await assemble(config, logger, lock, role);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function assemble(config: Config, logger: Logger, lock: { release(): void }, role: AppRole): Promise<App> {
  // SQLite in the data folder, or PostgreSQL when FOTA_DATABASE_URL is set (the folder keeps the blobs).
  const { db, engine, applied } = await openDatabase(config, (error) =>
    logger.warn({ err: error }, 'a database connection was lost; the next query opens a new one'),
  );
  if (applied.length > 0) logger.info({ migrations: applied, engine: engine.name }, 'database migrated');

  let storage: BlobStorage;
  try {
    // A worker shares the folder with its siblings: only the primary removes what a crash left.
    storage = await openBlobStorage(config, logger, { clean: !role.worker });
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const blobStore = storage.store;

  const prototypeRepository = new SqlPrototypeRepository(db);
  const deviceRepository = new SqlDeviceRepository(db);
  const firmwareRepository = new SqlFirmwareRepository(db);
  const blobs = new FirmwareBlobs(blobStore, firmwareRepository);
  // A worker shares the folder with the others: only the primary sweeps, before they start.
  const swept = role.worker
    ? 0
    : await blobs.sweepUnreferenced({ olderThan: new Date(Date.now() - config.blobSweepMinAgeMs) });
  if (swept > 0) logger.warn({ blobs: swept }, 'removed firmware files that no firmware refers to');
  const channelRepository = new SqlChannelValueRepository(db);
  const onEventError = (error: unknown, event: { type: string }) =>
    logger.error({ err: error, event: event.type }, 'event listener failed');
  const localEvents = new LocalEventBus(onEventError);
  // With Redis, this node is one of a cluster: the services publish on a bus that relays what the
  // console follows to the other nodes, and the gateway, waiting devices and throttles are shared.
  let cluster: RedisCluster | undefined;
  if (config.redis) {
    try {
      cluster = await RedisCluster.open(
        config.redis,
        localEvents,
        (error) => logger.error({ err: error }, 'Redis error'),
        onEventError,
      );
    } catch (error) {
      await db.destroy();
      throw error;
    }
    logger.info({ nodeId: cluster.nodeId }, 'joined the cluster through Redis');
  }
  await cluster?.relayCaches({ firmwares: firmwareRepository, prototypes: prototypeRepository });
  const events = cluster ? cluster.events.local() : localEvents;
  const connections = new DeviceConnections({ events, clock: systemClock });
  const gateway = cluster ? await cluster.gateway(connections, localEvents) : connections;
  const firmwareUrl = (firmwareId: string) => `${config.publicUrl}/fw/${firmwareId}`;
  const onBackgroundError = (error: unknown) => logger.error({ err: error }, 'push work in the background failed');

  const prototypes = new PrototypeService({
    prototypes: prototypeRepository,
    devices: deviceRepository,
    firmwares: firmwareRepository,
    blobs,
    clock: systemClock,
  });
  const adminTokens = new AdminTokens(new SqlSettingsRepository(db));
  const auditLog = new SqlAuditLog(db);
  const pushRepository = new SqlPushRepository(db, engine);
  const retention = new Retention({
    audit: auditLog,
    pushes: pushRepository,
    clock: systemClock,
    policy: config.retention,
  });
  const signing = new SigningService({
    signing: new SqlSigningRepository(db),
    firmwares: firmwareRepository,
    prototypes,
    clock: systemClock,
    kek: config.signingKek,
  });
  // Webhooks: an outbox in the database, written where an event happens, posted by every node.
  const webhookRepository = new SqlWebhookRepository(db);
  const deliverer = new WebhookDeliverer({
    webhooks: webhookRepository,
    sender: new HttpWebhookSender(config.webhooks),
    clock: systemClock,
    retry: {
      baseDelayMs: config.webhooks.retryBaseMs,
      maxDelayMs: config.webhooks.retryMaxMs,
      maxAttempts: config.webhooks.maxAttempts,
      maxAgeMs: config.webhooks.maxAgeMs,
    },
    pollMs: config.webhooks.pollMs,
    timeoutMs: config.webhooks.timeoutMs,
    concurrency: 8,
    userAgent: `fota-webhooks/${packageVersion}`,
    onError: (error) => logger.error({ err: error }, 'webhook delivery failed'),
  });
  const webhooks = new WebhookService({
    webhooks: webhookRepository,
    events,
    clock: systemClock,
    maxSubscriptions: config.webhooks.maxSubscriptions,
    refusal: (url) => urlRefusal(url, config.webhooks.allowPrivate),
    written: () => deliverer.wake(),
  });
  const services: HttpServices = {
    prototypes,
    devices: new DeviceService({
      devices: deviceRepository,
      prototypes,
      channels: channelRepository,
      connections: gateway,
      clock: systemClock,
    }),
    firmwares: new FirmwareService({
      firmwares: firmwareRepository,
      prototypes,
      blobs,
      blobStore,
      clock: systemClock,
      maxFirmwareBytes: config.maxFirmwareBytes,
      listRunningDevices: (firmwareId) => deviceRepository.listRunning(firmwareId),
      // Signed at upload when the prototype's current key is held by the server.
      afterCreate: (firmware) =>
        signing.signAtUpload(firmware).then(
          () => undefined,
          (error: unknown) =>
            logger.error(
              { err: error, firmwareId: firmware.id },
              'signing at upload failed; sign it with `fota firmware sign`',
            ),
        ),
      events,
    }),
    deviceSelf: new DeviceSelfService({
      devices: deviceRepository,
      firmwares: firmwareRepository,
      prototypes: prototypeRepository,
      clock: systemClock,
      events,
      tcpEndpoint: { host: config.tcpPublicHost, port: config.tcpPort },
    }),
    connections,
    dataPoints: new DataPointService({
      channels: channelRepository,
      connections,
      events,
      clock: systemClock,
      maxChannelsPerDevice: config.maxChannelsPerDevice,
    }),
    pushes: new PushService({
      pushes: pushRepository,
      devices: deviceRepository,
      firmwares: firmwareRepository,
      prototypes: prototypeRepository,
      gateway,
      waiting: cluster?.waiting(),
      events,
      clock: systemClock,
      timeouts: config.pushTimeouts,
      downloadUrl: (token) => `${config.publicUrl}/fw/p/${token}`,
      onError: onBackgroundError,
    }),
    events: cluster ? cluster.events.stream() : events,
    signing,
    adminTokens,
    accounts: new AccountService({
      accounts: new SqlAccountRepository(db),
      adminTokens,
      clock: systemClock,
      sessionTtlMs: config.sessionTtlMs,
      events,
    }),
    audit: new AuditService({ log: auditLog, clock: systemClock }),
    webhooks,
    firmwareUrl,
    downloadRedirect: storage.downloadRedirect,
    endpoints: () => ({
      publicUrl: config.publicUrl,
      tcp: { host: config.tcpPublicHost, port: config.tcpPort },
      mqtt: { host: config.tcpPublicHost, port: mqtt?.port() ?? config.mqttPort },
    }),
  };
  const stopListening = await services.pushes.listen();
  const stopWebhooks = webhooks.listen();
  let generated: string | undefined;

  // One throttle of failed authentication for every surface, HTTP, TCP and MQTT alike.
  // Shared by the nodes of a cluster: a failure on one counts on every one.
  const throttleOf = (name: string, options: AuthThrottleOptions): Promise<FailureThrottle> | FailureThrottle =>
    cluster ? cluster.throttle(name, options) : new AuthThrottle(options);
  const throttle = await throttleOf('addresses', {
    burst: config.authFailureBurst,
    failuresPerMinute: config.authFailuresPerMinute,
    maxAddresses: config.authThrottleAddresses,
  });
  // Failed sign-ins per account (email): a burst, then one more every FOTA_ACCOUNT_LOCK_S.
  const accountThrottle = await throttleOf('accounts', {
    burst: config.accountFailureBurst,
    failuresPerMinute: 60_000 / config.accountLockMs,
    maxAddresses: config.authThrottleAddresses,
    keyOf: (email) => email ?? '',
  });
  // The balancers in front: where their PROXY header is expected, and their X-Forwarded-For on HTTP.
  const proxyProtocol = (listener: ProxyListener): ProxyProtocolSetting | undefined =>
    config.proxies.listeners.has(listener)
      ? { trusted: config.proxies.trusted, headerTimeoutMs: config.proxies.headerTimeoutMs }
      : undefined;
  const http = await buildHttpServer({
    services,
    logger,
    maxFirmwareBytes: config.maxFirmwareBytes,
    publicUrl: config.publicUrl,
    version: packageVersion,
    throttle,
    accountThrottle,
    sessionTtlSeconds: Math.round(config.sessionTtlMs / 1000),
    limits: config.httpLimits,
    trustedProxies: config.proxies.trusted,
    proxyProtocol: proxyProtocol('http'),
  });

  let listening = '';
  const budget = new SocketBudget(config.maxDeviceConnections, config.maxUnidentifiedConnections);
  let tcp: TcpCommandServer | undefined;
  let mqtt: MqttBroker | undefined;
  // The device transports, started in this order; each is an adapter over the same services.
  const transports: ReadonlyArray<{
    readonly protocol: Protocol;
    /** The variable that sets its port, for a listen error. */
    readonly variable: string;
    readonly port: number;
    start(): Promise<{ close(): Promise<void> }>;
  }> = [
    {
      protocol: 'tcp',
      variable: 'FOTA_TCP_PORT',
      port: config.tcpPort,
      start: async () =>
        (tcp = await startTcpCommandServer({
          host: config.host,
          port: config.tcpPort,
          heartbeatTimeoutMs: config.tcpHeartbeatTimeoutMs,
          echoHeartbeat: config.tcpEchoHeartbeat,
          writeGapMs: config.tcpWriteGapMs,
          deviceSelf: services.deviceSelf,
          connections,
          logger,
          budget,
          throttle,
          proxyProtocol: proxyProtocol('tcp'),
        })),
    },
    {
      protocol: 'mqtt',
      variable: 'FOTA_MQTT_PORT',
      port: config.mqttPort,
      start: async () =>
        (mqtt = await startMqttBroker({
          host: config.host,
          port: config.mqttPort,
          deviceSelf: services.deviceSelf,
          connections,
          dataPoints: services.dataPoints,
          events,
          logger,
          budget,
          throttle,
          maxPacketBytes: config.mqttMaxPacketBytes,
          identifyTimeoutMs: config.mqttIdentifyTimeoutMs,
          sessionQueue: {
            maxPackets: config.mqttSessionLimits.queueMax,
            ttlMs: config.mqttSessionLimits.queueTtlMs,
          },
          maxSubscriptions: config.mqttSessionLimits.maxSubscriptions,
          // With Redis, every node's broker keeps its sessions there and routes through it: one broker.
          redisUrl: config.redis?.url,
          proxyProtocol: proxyProtocol('mqtt'),
        })),
    },
    ...(config.linkit7681
      ? linkit7681Transports({
          config: config.linkit7681,
          host: config.host,
          deviceSelf: services.deviceSelf,
          connections,
          logger,
          budget,
          throttle,
          httpLimits: config.httpLimits,
          firmwares: services.firmwares,
          pushes: services.pushes,
          events,
          proxyProtocol: proxyProtocol('linkit7681'),
        })
      : []),
  ];
  const started: Array<{ close(): Promise<void> }> = [];
  let expiry: NodeJS.Timeout | undefined;
  let purging: NodeJS.Timeout | undefined;
  let purgeRun: Promise<void> | undefined;
  let stopped = false;
  // Overdue pushes are failed by a sweep a few times per shortest timeout, at most every 30 s.
  const shortestTimeoutMs = Math.min(...Object.values(config.pushTimeouts));
  const sweepEveryMs = Math.min(30_000, Math.max(100, Math.floor(shortestTimeoutMs / 4)));
  const closeAll = async () => {
    clearInterval(expiry);
    stopped = true;
    clearTimeout(purging);
    await retention.stop();
    await purgeRun;
    stopListening();
    stopWebhooks();
    connections.closeAll('server stopping');
    for (const transport of started.splice(0).reverse()) await transport.close();
    await http.close();
    await deliverer.stop();
    await cluster?.close();
    await db.destroy();
    storage.close();
    lock.release();
  };
  const httpTarget = { variable: 'FOTA_HTTP_PORT', port: config.httpPort, host: config.host };
  return {
    http,
    services,
    logger,
    get generatedAdminToken() {
      return generated;
    },
    url: () => listening,
    tcp: () => tcp,
    mqtt: () => mqtt,
    async start() {
      // Tokens are checked from the first request on (a worker's port is shared from its listen on):
      // none is answered 503 while the server starts.
      const tokens = await services.adminTokens.load(config.adminToken);
      try {
        await listenAll();
      } catch (error) {
        await closeAll().catch((closing: unknown) => logger.error({ err: closing }, 'error while closing'));
        throw error;
      }
      // Only now, with every port open, is a generated token stored and then shown.
      if (tokens.generated !== undefined) await services.adminTokens.store(tokens.generated);
      generated = tokens.generated;
      expiry = setInterval(() => {
        services.pushes.expireOverdue().catch((error: unknown) => logger.error({ err: error }, 'push expiry failed'));
      }, sweepEveryMs);
      expiry.unref();
      // Old audit entries and push history, on every node (the deletes are by condition and in batches).
      const purge = () => {
        purgeRun = retention
          .purge()
          .then((report) => {
            if (report.auditEntries + report.pushes > 0)
              logger.info(report, 'purged old audit entries and push history');
          })
          .catch((error: unknown) => logger.error({ err: error }, 'purge of old audit entries and push history failed'))
          .finally(() => {
            if (stopped) return;
            purging = setTimeout(purge, config.purgeIntervalMs);
            purging.unref();
          });
      };
      purging = setTimeout(purge, Math.min(60_000, config.purgeIntervalMs));
      purging.unref();
      deliverer.start();
    },
    stop: closeAll,
  };

  /** HTTP, then each device transport; a port that cannot be had is named by its variable. */
  async function listenAll(): Promise<void> {
    listening = await listenOn(httpTarget, () => http.listen({ port: config.httpPort, host: config.host }));
    for (const transport of transports) {
      const target = { variable: transport.variable, port: transport.port, host: config.host };
      started.push(await listenOn(target, () => transport.start()));
    }
  }
}
