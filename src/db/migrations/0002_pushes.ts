import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/** Pushes with their per-device targets and transitions, and the last value of each data channel. */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('channel_values')
    .addColumn('device_id', engine.text, (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('channel_id', engine.text, (c) => c.notNull())
    .addColumn('values_json', engine.text, (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_values_pk', ['device_id', 'channel_id'])
    .execute();

  // A push keeps its firmware's id and version even after the firmware is deleted: it is history.
  await db.schema
    .createTable('pushes')
    .addColumn('id', engine.text, (c) => c.primaryKey())
    .addColumn('firmware_id', engine.text, (c) => c.notNull())
    .addColumn('prototype_id', engine.text, (c) => c.notNull().references('prototypes.id').onDelete('cascade'))
    .addColumn('version', engine.text, (c) => c.notNull())
    .addColumn('created_by', engine.text, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('force', 'integer', (c) => c.notNull())
    .addColumn('queue_offline', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pushes_firmware').on('pushes').columns(['firmware_id', 'created_at']).execute();

  await db.schema
    .createTable('push_targets')
    .addColumn('push_id', engine.text, (c) => c.notNull().references('pushes.id').onDelete('cascade'))
    .addColumn('device_id', engine.text, (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('status', engine.text, (c) => c.notNull())
    .addColumn('reason', engine.text)
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('deadline_at', 'bigint')
    .addPrimaryKeyConstraint('push_targets_pk', ['push_id', 'device_id'])
    .execute();
  await db.schema.createIndex('push_targets_device').on('push_targets').columns(['device_id', 'status']).execute();
  await db.schema.createIndex('push_targets_deadline').on('push_targets').columns(['deadline_at']).execute();

  await db.schema
    .createTable('push_transitions')
    .addColumn('id', engine.serial.type, (c) => engine.serial.modify(c))
    .addColumn('push_id', engine.text, (c) => c.notNull())
    .addColumn('device_id', engine.text, (c) => c.notNull())
    .addColumn('status', engine.text, (c) => c.notNull())
    .addColumn('reason', engine.text)
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addForeignKeyConstraint(
      'push_transitions_target',
      ['push_id', 'device_id'],
      'push_targets',
      ['push_id', 'device_id'],
      (c) => c.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('push_transitions_target')
    .on('push_transitions')
    .columns(['push_id', 'device_id'])
    .execute();
}
