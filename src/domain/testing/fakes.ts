/**
 * Small in-memory repositories for unit tests. They keep the rules the SQL drivers keep: unique
 * versions per prototype, the insert check run over the prototype's firmwares, deleting a prototype
 * deletes its devices and firmwares, deleting a firmware clears the devices that reported it and
 * drops it from prerequisite lists. `servicesOver` wires the domain services over them.
 */
import { DomainError } from '../errors.js';
import { LocalEventBus } from '../events.js';
import type { ChannelValue, Device, Firmware, Prototype } from '../model.js';
import type {
  BlobStore,
  ChannelValueRepository,
  Clock,
  DeviceRepository,
  FirmwareRepository,
  PrototypeRepository,
  SettingsRepository,
} from '../ports.js';
import { AdminTokens } from '../services/admin-tokens.js';
import { DeviceConnections } from '../services/connections.js';
import { DeviceSelfService, type TcpEndpoint } from '../services/device-self.js';
import { DeviceService } from '../services/devices.js';
import { FirmwareBlobs } from '../services/firmware-blobs.js';
import { FirmwareService } from '../services/firmwares.js';
import { PrototypeService } from '../services/prototypes.js';

/** The rows every fake repository shares, so cascades work across aggregates. */
export class InMemoryTables {
  readonly prototypes = new Map<string, Prototype>();
  readonly devices = new Map<string, Device>();
  readonly firmwares = new Map<string, Firmware>();
  readonly settings = new Map<string, string>();
  readonly channels = new Map<string, Map<string, ChannelValue>>();
}

const byCreation = <T extends { readonly createdAt: Date; readonly id: string }>(a: T, b: T): number =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class InMemoryPrototypeRepository implements PrototypeRepository {
  constructor(private readonly tables: InMemoryTables) {}

  async insert(prototype: Prototype): Promise<void> {
    if (this.tables.prototypes.has(prototype.id)) throw new DomainError('duplicate', `prototype ${prototype.id}`);
    this.tables.prototypes.set(prototype.id, prototype);
  }

  async get(id: string): Promise<Prototype | undefined> {
    return this.tables.prototypes.get(id);
  }

  async list(): Promise<Prototype[]> {
    return [...this.tables.prototypes.values()].sort(byCreation);
  }

  async update(prototype: Prototype): Promise<void> {
    if (this.tables.prototypes.has(prototype.id)) this.tables.prototypes.set(prototype.id, prototype);
  }

  async delete(id: string): Promise<void> {
    this.tables.prototypes.delete(id);
    for (const device of [...this.tables.devices.values()]) {
      if (device.prototypeId === id) this.tables.devices.delete(device.id);
    }
    for (const firmware of [...this.tables.firmwares.values()]) {
      if (firmware.prototypeId === id) deleteFirmware(this.tables, firmware.id);
    }
  }
}

export class InMemoryDeviceRepository implements DeviceRepository {
  constructor(private readonly tables: InMemoryTables) {}

  async insert(device: Device): Promise<void> {
    if (this.tables.devices.has(device.id)) throw new DomainError('duplicate', `device ${device.id} exists already`);
    this.tables.devices.set(device.id, device);
  }

  async get(id: string): Promise<Device | undefined> {
    return this.tables.devices.get(id);
  }

  async listByPrototype(prototypeId: string): Promise<Device[]> {
    return [...this.tables.devices.values()].filter((device) => device.prototypeId === prototypeId).sort(byCreation);
  }

  async update(device: Device): Promise<void> {
    if (this.tables.devices.has(device.id)) this.tables.devices.set(device.id, device);
  }

  async delete(id: string): Promise<void> {
    this.tables.devices.delete(id);
  }

  async getMany(ids: readonly string[]): Promise<Device[]> {
    return ids.flatMap((id) => {
      const device = this.tables.devices.get(id);
      return device ? [device] : [];
    });
  }

  async listRunning(firmwareId: string): Promise<string[]> {
    return [...this.tables.devices.values()]
      .filter((device) => device.reported?.firmwareId === firmwareId)
      .map((device) => device.id)
      .sort();
  }
}

export class InMemoryFirmwareRepository implements FirmwareRepository {
  constructor(private readonly tables: InMemoryTables) {}

  async insert(firmware: Firmware, check: (existing: readonly Firmware[]) => Firmware | undefined): Promise<Firmware> {
    const existing = await this.listByPrototype(firmware.prototypeId);
    const repeated = check(existing);
    if (repeated) return repeated;
    if (this.tables.firmwares.has(firmware.id) || existing.some((other) => other.version === firmware.version)) {
      throw new DomainError('duplicate', `version ${firmware.version} already exists in this prototype`);
    }
    this.tables.firmwares.set(firmware.id, firmware);
    return firmware;
  }

  async get(id: string): Promise<Firmware | undefined> {
    return this.tables.firmwares.get(id);
  }

  async listByPrototype(prototypeId: string): Promise<Firmware[]> {
    return [...this.tables.firmwares.values()]
      .filter((firmware) => firmware.prototypeId === prototypeId)
      .sort(byCreation);
  }

  /** A new list on every call: correct, since a new list means "maybe changed". */
  async sharedListByPrototype(prototypeId: string): Promise<readonly Firmware[]> {
    return Object.freeze(await this.listByPrototype(prototypeId));
  }

  async findByVersion(prototypeId: string, version: string): Promise<Firmware | undefined> {
    return [...this.tables.firmwares.values()].find(
      (firmware) => firmware.prototypeId === prototypeId && firmware.version === version,
    );
  }

  async update(firmware: Firmware): Promise<void> {
    if (this.tables.firmwares.has(firmware.id)) this.tables.firmwares.set(firmware.id, firmware);
  }

  async delete(id: string): Promise<void> {
    deleteFirmware(this.tables, id);
  }

  async listDependents(firmwareId: string): Promise<string[]> {
    return [...this.tables.firmwares.values()]
      .filter((firmware) => firmware.prerequisites !== 'all' && firmware.prerequisites.includes(firmwareId))
      .map((firmware) => firmware.id)
      .sort();
  }

  async countBySha256(sha256: string): Promise<number> {
    return [...this.tables.firmwares.values()].filter((firmware) => firmware.sha256 === sha256).length;
  }
}

/** As the SQL schema does: reported firmware set to null, prerequisite links cascade. */
function deleteFirmware(tables: InMemoryTables, id: string): void {
  if (!tables.firmwares.delete(id)) return;
  for (const device of tables.devices.values()) {
    if (device.reported?.firmwareId === id) {
      tables.devices.set(device.id, { ...device, reported: { ...device.reported, firmwareId: undefined } });
    }
  }
  for (const firmware of tables.firmwares.values()) {
    if (firmware.prerequisites !== 'all' && firmware.prerequisites.includes(id)) {
      tables.firmwares.set(firmware.id, {
        ...firmware,
        prerequisites: firmware.prerequisites.filter((prerequisite) => prerequisite !== id),
      });
    }
  }
}

export class InMemorySettingsRepository implements SettingsRepository {
  constructor(private readonly tables: InMemoryTables) {}

  async get(key: string): Promise<string | undefined> {
    return this.tables.settings.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    this.tables.settings.set(key, value);
  }
}

/** A clock that moves one second forward on every reading, so creation order is never a tie. */
export class SteppingClock implements Clock {
  private current: number;

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.current = start;
  }

  now(): Date {
    const now = new Date(this.current);
    this.current += 1000;
    return now;
  }
}

/** Every fake repository over one set of tables. */
export function inMemoryRepositories(tables = new InMemoryTables()) {
  return {
    tables,
    prototypes: new InMemoryPrototypeRepository(tables),
    devices: new InMemoryDeviceRepository(tables),
    firmwares: new InMemoryFirmwareRepository(tables),
    settings: new InMemorySettingsRepository(tables),
    channels: new InMemoryChannelValueRepository(tables),
  };
}

export class InMemoryChannelValueRepository implements ChannelValueRepository {
  constructor(private readonly tables: InMemoryTables) {}

  async upsert(deviceId: string, values: readonly ChannelValue[]): Promise<void> {
    const channels = this.tables.channels.get(deviceId) ?? new Map<string, ChannelValue>();
    for (const value of values) {
      const existing = channels.get(value.channelId);
      if (!existing || existing.timestamp <= value.timestamp) channels.set(value.channelId, value);
    }
    this.tables.channels.set(deviceId, channels);
  }

  async list(deviceId: string): Promise<ChannelValue[]> {
    return [...(this.tables.channels.get(deviceId)?.values() ?? [])].sort((a, b) =>
      a.channelId.localeCompare(b.channelId),
    );
  }

  async listByPrototype(prototypeId: string): Promise<Map<string, ChannelValue[]>> {
    const result = new Map<string, ChannelValue[]>();
    for (const device of this.tables.devices.values()) {
      if (device.prototypeId === prototypeId && this.tables.channels.has(device.id))
        result.set(device.id, await this.list(device.id));
    }
    return result;
  }
}

/**
 * The domain services wired over fake repositories and the given blob store (tests pass a real
 * LocalBlobStore on a temporary folder), as the composition root wires them.
 */
export function servicesOver(
  blobStore: BlobStore,
  options: { readonly maxFirmwareBytes?: number; readonly tcpEndpoint?: TcpEndpoint } = {},
) {
  const repositories = inMemoryRepositories();
  const clock = new SteppingClock();
  const blobs = new FirmwareBlobs(blobStore, repositories.firmwares);
  const events = new LocalEventBus((error) => {
    throw error;
  });
  const connections = new DeviceConnections({ events, clock });
  const prototypes = new PrototypeService({
    prototypes: repositories.prototypes,
    devices: repositories.devices,
    firmwares: repositories.firmwares,
    blobs,
    clock,
  });
  return {
    repositories,
    clock,
    blobs,
    prototypes,
    events,
    connections,
    devices: new DeviceService({
      devices: repositories.devices,
      prototypes,
      channels: repositories.channels,
      connections,
      clock,
    }),
    firmwares: new FirmwareService({
      firmwares: repositories.firmwares,
      prototypes,
      blobs,
      blobStore,
      clock,
      maxFirmwareBytes: options.maxFirmwareBytes ?? 1024 * 1024,
      listRunningDevices: (firmwareId) => repositories.devices.listRunning(firmwareId),
    }),
    deviceSelf: new DeviceSelfService({
      devices: repositories.devices,
      firmwares: repositories.firmwares,
      prototypes: repositories.prototypes,
      clock,
      events,
      tcpEndpoint: options.tcpEndpoint ?? { host: '127.0.0.1', port: 4443 },
    }),
    adminTokens: new AdminTokens(repositories.settings),
  };
}
