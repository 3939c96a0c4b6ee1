import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { migrate, openSqlite, type Db } from './db/database.js';
import { SqlChannelValueRepository } from './db/repositories/channel-values.js';
import { SqlDeviceRepository } from './db/repositories/devices.js';
import { SqlFirmwareRepository } from './db/repositories/firmwares.js';
import { SqlPrototypeRepository } from './db/repositories/prototypes.js';
import { SqlPushRepository } from './db/repositories/pushes.js';
import { SqlSettingsRepository } from './db/repositories/settings.js';
import { LocalEventBus } from './domain/events.js';
import type { Clock } from './domain/ports.js';
import { AdminTokens } from './domain/services/admin-tokens.js';
import { DeviceConnections } from './domain/services/connections.js';
import { DataPointService } from './domain/services/data-points.js';
import { DeviceSelfService } from './domain/services/device-self.js';
import { DeviceService } from './domain/services/devices.js';
import { FirmwareBlobs } from './domain/services/firmware-blobs.js';
import { FirmwareService } from './domain/services/firmwares.js';
import { PrototypeService } from './domain/services/prototypes.js';
import { PushService } from './domain/services/pushes.js';
import { buildHttpServer } from './http/server.js';
import type { HttpServices } from './http/services.js';
import { startMqttBroker, type MqttBroker } from './mqtt/broker.js';
import { SocketBudget } from './net/socket-budget.js';
import { LocalBlobStore } from './storage/local-blob-store.js';
import { startTcpCommandServer, type TcpCommandServer } from './tcp/server.js';
import { packageVersion } from './version.js';

export interface App {
  readonly http: FastifyInstance;
  readonly services: HttpServices;
  readonly logger: Logger;
  /** The admin token generated on this start, shown once; undefined otherwise. */
  readonly generatedAdminToken: string | undefined;
  /** The base URL the HTTP server listens on, once started. */
  url(): string;
  /** The TCP command server, once started. */
  tcp(): TcpCommandServer | undefined;
  /** The MQTT broker, once started. */
  mqtt(): MqttBroker | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const systemClock: Clock = { now: () => new Date() };

/** Opens the database of a data folder and applies the migrations it lacks. */
export async function openDatabase(dataDir: string): Promise<{ db: Db; applied: string[] }> {
  await mkdir(dataDir, { recursive: true });
  const db = openSqlite(join(dataDir, 'fota.sqlite'));
  try {
    return { db, applied: await migrate(db) };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/** The composition root: reads the config once and picks every implementation. */
export async function createApp(config: Config, logger: Logger = pino({ level: config.logLevel })): Promise<App> {
  const { db, applied } = await openDatabase(config.dataDir);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

  const blobStore = new LocalBlobStore(join(config.dataDir, 'blobs'));
  await blobStore.open();

  const prototypeRepository = new SqlPrototypeRepository(db);
  const deviceRepository = new SqlDeviceRepository(db);
  const firmwareRepository = new SqlFirmwareRepository(db);
  const blobs = new FirmwareBlobs(blobStore, firmwareRepository);
  const swept = await blobs.sweepUnreferenced();
  if (swept > 0) logger.warn({ blobs: swept }, 'removed firmware files that no firmware refers to');
  const channelRepository = new SqlChannelValueRepository(db);
  const events = new LocalEventBus((error, event) =>
    logger.error({ err: error, event: event.type }, 'event listener failed'),
  );
  const connections = new DeviceConnections({ events, clock: systemClock });
  const firmwareUrl = (firmwareId: string) => `${config.publicUrl}/fw/${firmwareId}`;

  const prototypes = new PrototypeService({
    prototypes: prototypeRepository,
    devices: deviceRepository,
    firmwares: firmwareRepository,
    blobs,
    clock: systemClock,
  });
  const services: HttpServices = {
    prototypes,
    devices: new DeviceService({
      devices: deviceRepository,
      prototypes,
      channels: channelRepository,
      connections,
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
    dataPoints: new DataPointService({ channels: channelRepository, connections, events, clock: systemClock }),
    pushes: new PushService({
      pushes: new SqlPushRepository(db),
      devices: deviceRepository,
      firmwares: firmwareRepository,
      prototypes: prototypeRepository,
      connections,
      events,
      clock: systemClock,
      timeoutMs: config.pushTimeoutMs,
      downloadUrl: (firmwareId, deviceId) => `${firmwareUrl(firmwareId)}?d=${deviceId}`,
      onError: (error) => logger.error({ err: error }, 'recording push progress failed'),
    }),
    events,
    adminTokens: new AdminTokens(new SqlSettingsRepository(db)),
    firmwareUrl,
    endpoints: () => ({
      publicUrl: config.publicUrl,
      tcp: { host: config.tcpPublicHost, port: config.tcpPort },
      mqtt: { host: config.tcpPublicHost, port: mqtt?.port() ?? config.mqttPort },
    }),
  };
  const stopListening = services.pushes.listen();
  const { generated } = await services.adminTokens.prepare(config.adminToken);

  const http = await buildHttpServer({
    services,
    logger,
    maxFirmwareBytes: config.maxFirmwareBytes,
    publicUrl: config.publicUrl,
    version: packageVersion,
  });

  let listening = '';
  const budget = new SocketBudget(config.maxDeviceConnections);
  let tcp: TcpCommandServer | undefined;
  let mqtt: MqttBroker | undefined;
  let expiry: NodeJS.Timeout | undefined;
  // Overdue pushes are failed by a sweep a few times per timeout, at most every 30 s.
  const sweepEveryMs = Math.min(30_000, Math.max(100, Math.floor(config.pushTimeoutMs / 4)));
  return {
    http,
    services,
    logger,
    generatedAdminToken: generated,
    url: () => listening,
    tcp: () => tcp,
    mqtt: () => mqtt,
    async start() {
      listening = await http.listen({ port: config.httpPort, host: config.host });
      tcp = await startTcpCommandServer({
        host: config.host,
        port: config.tcpPort,
        heartbeatTimeoutMs: config.tcpHeartbeatTimeoutMs,
        echoHeartbeat: config.tcpEchoHeartbeat,
        deviceSelf: services.deviceSelf,
        connections,
        logger,
        budget,
      });
      mqtt = await startMqttBroker({
        host: config.host,
        port: config.mqttPort,
        deviceSelf: services.deviceSelf,
        connections,
        dataPoints: services.dataPoints,
        logger,
        budget,
      });
      expiry = setInterval(() => {
        services.pushes.expireOverdue().catch((error: unknown) => logger.error({ err: error }, 'push expiry failed'));
      }, sweepEveryMs);
      expiry.unref();
    },
    async stop() {
      clearInterval(expiry);
      stopListening();
      connections.closeAll('server stopping');
      await tcp?.close();
      await mqtt?.close();
      await http.close();
      await db.destroy();
    },
  };
}
