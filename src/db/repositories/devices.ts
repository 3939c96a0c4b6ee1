import { CompiledQuery } from 'kysely';
import type { Device } from '../../domain/model.js';
import type { DeviceRepository } from '../../domain/ports.js';
import type { Db } from '../database.js';
import { duplicateAs } from '../errors.js';
import { chunks } from './chunks.js';
import type { DeviceTable } from '../schema.js';

export class SqlDeviceRepository implements DeviceRepository {
  /** `get` runs on every device request and connection: its SQL is built once, then only bound. */
  private readonly getSql: string;

  constructor(private readonly db: Db) {
    this.getSql = db.selectFrom('devices').selectAll().where('id', '=', '').compile().sql;
  }

  async insert(device: Device): Promise<void> {
    try {
      await this.db.insertInto('devices').values(toRow(device)).execute();
    } catch (error) {
      throw duplicateAs(error, `device ${device.id} exists already`);
    }
  }

  async get(id: string): Promise<Device | undefined> {
    const query: CompiledQuery<DeviceTable> = CompiledQuery.raw(this.getSql, [id]);
    const [row] = (await this.db.executeQuery(query)).rows;
    return row && fromRow(row);
  }

  async listByPrototype(prototypeId: string): Promise<Device[]> {
    const rows = await this.db
      .selectFrom('devices')
      .selectAll()
      .where('prototype_id', '=', prototypeId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(fromRow);
  }

  async update(device: Device): Promise<void> {
    const { id, ...values } = toRow(device);
    await this.db.updateTable('devices').set(values).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('devices').where('id', '=', id).execute();
  }

  async getMany(ids: readonly string[]): Promise<Device[]> {
    const devices: Device[] = [];
    for (const part of chunks(ids)) {
      const rows = await this.db.selectFrom('devices').selectAll().where('id', 'in', part).execute();
      devices.push(...rows.map(fromRow));
    }
    return devices;
  }

  async listRunning(firmwareId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('devices')
      .select('id')
      .where('reported_firmware_id', '=', firmwareId)
      .orderBy('id')
      .execute();
    return rows.map((row) => row.id);
  }
}

function toRow(device: Device): DeviceTable {
  return {
    id: device.id,
    prototype_id: device.prototypeId,
    device_key: device.key,
    name: device.name,
    description: device.description,
    reported_firmware_id: device.reported?.firmwareId ?? null,
    reported_version: device.reported?.version ?? null,
    reported_at: device.reported?.reportedAt.getTime() ?? null,
    created_at: device.createdAt.getTime(),
  };
}

function fromRow(row: DeviceTable): Device {
  return {
    id: row.id,
    prototypeId: row.prototype_id,
    key: row.device_key,
    name: row.name,
    description: row.description,
    reported:
      row.reported_version === null || row.reported_at === null
        ? undefined
        : {
            firmwareId: row.reported_firmware_id ?? undefined,
            version: row.reported_version,
            reportedAt: new Date(row.reported_at),
          },
    createdAt: new Date(row.created_at),
  };
}
