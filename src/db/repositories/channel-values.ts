import type { ChannelValue } from '../../domain/model.js';
import type { ChannelValueRepository } from '../../domain/ports.js';
import type { Db } from '../database.js';
import type { ChannelValueTable } from '../schema.js';

export class SqlChannelValueRepository implements ChannelValueRepository {
  constructor(private readonly db: Db) {}

  async upsert(deviceId: string, values: readonly ChannelValue[]): Promise<void> {
    if (values.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const value of values) {
        const row = {
          device_id: deviceId,
          channel_id: value.channelId,
          values_json: JSON.stringify(value.values),
          timestamp: value.timestamp.getTime(),
        };
        await trx
          .insertInto('channel_values')
          .values(row)
          .onConflict((conflict) =>
            conflict
              .columns(['device_id', 'channel_id'])
              .doUpdateSet({ values_json: row.values_json, timestamp: row.timestamp })
              .where('channel_values.timestamp', '<=', row.timestamp),
          )
          .execute();
      }
    });
  }

  async list(deviceId: string): Promise<ChannelValue[]> {
    const rows = await this.db
      .selectFrom('channel_values')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('channel_id')
      .execute();
    return rows.map(fromRow);
  }

  async listByPrototype(prototypeId: string): Promise<Map<string, ChannelValue[]>> {
    const rows = await this.db
      .selectFrom('channel_values')
      .innerJoin('devices', 'devices.id', 'channel_values.device_id')
      .selectAll('channel_values')
      .where('devices.prototype_id', '=', prototypeId)
      .orderBy('channel_values.channel_id')
      .execute();
    const byDevice = new Map<string, ChannelValue[]>();
    for (const row of rows) {
      const list = byDevice.get(row.device_id) ?? [];
      list.push(fromRow(row));
      byDevice.set(row.device_id, list);
    }
    return byDevice;
  }
}

function fromRow(row: ChannelValueTable): ChannelValue {
  return {
    channelId: row.channel_id,
    values: JSON.parse(row.values_json) as Record<string, string>,
    timestamp: new Date(row.timestamp),
  };
}
