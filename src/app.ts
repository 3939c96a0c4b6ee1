import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { migrate, openSqlite, type Db } from './db/database.js';
import { SqlDeviceRepository } from './db/repositories/devices.js';
import { SqlFirmwareRepository } from './db/repositories/firmwares.js';
import { SqlPrototypeRepository } from './db/repositories/prototypes.js';
import { SqlSettingsRepository } from './db/repositories/settings.js';
import type { Clock } from './domain/ports.js';
import { AdminTokens } from './domain/services/admin-tokens.js';
import { DeviceSelfService } from './domain/services/device-self.js';
import { DeviceService } from './domain/services/devices.js';
import { FirmwareBlobs } from './domain/services/firmware-blobs.js';
import { FirmwareService } from './domain/services/firmwares.js';
import { PrototypeService } from './domain/services/prototypes.js';
import { buildHttpServer } from './http/server.js';
import type { HttpServices } from './http/services.js';
import { LocalBlobStore } from './storage/local-blob-store.js';
import { packageVersion } from './version.js';

export interface App {
  readonly http: FastifyInstance;
  readonly services: HttpServices;
  readonly logger: Logger;
  /** The admin token generated on this start, shown once; undefined otherwise. */
  readonly generatedAdminToken: string | undefined;
  /** The base URL the HTTP server listens on, once started. */
  url(): string;
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

  const prototypes = new PrototypeService({
    prototypes: prototypeRepository,
    devices: deviceRepository,
    firmwares: firmwareRepository,
    blobs,
    clock: systemClock,
  });
  const services: HttpServices = {
    prototypes,
    devices: new DeviceService({ devices: deviceRepository, prototypes, clock: systemClock }),
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
      tcpEndpoint: { host: config.tcpPublicHost, port: config.tcpPort },
    }),
    adminTokens: new AdminTokens(new SqlSettingsRepository(db)),
    firmwareUrl: (firmwareId) => `${config.publicUrl}/fw/${firmwareId}`,
  };
  const { generated } = await services.adminTokens.prepare(config.adminToken);

  const http = await buildHttpServer({
    services,
    logger,
    maxFirmwareBytes: config.maxFirmwareBytes,
    publicUrl: config.publicUrl,
    version: packageVersion,
  });

  let listening = '';
  return {
    http,
    services,
    logger,
    generatedAdminToken: generated,
    url: () => listening,
    async start() {
      listening = await http.listen({ port: config.httpPort, host: config.host });
    },
    async stop() {
      await http.close();
      await db.destroy();
    },
  };
}
