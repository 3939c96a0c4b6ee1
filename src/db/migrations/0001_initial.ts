import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('prototypes')
    .addColumn('id', engine.text, (c) => c.primaryKey())
    .addColumn('name', engine.text, (c) => c.notNull())
    .addColumn('description', engine.text, (c) => c.notNull())
    .addColumn('version_policy', engine.text, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('firmwares')
    .addColumn('id', engine.text, (c) => c.primaryKey())
    .addColumn('prototype_id', engine.text, (c) => c.notNull().references('prototypes.id').onDelete('cascade'))
    .addColumn('name', engine.text, (c) => c.notNull())
    .addColumn('version', engine.text, (c) => c.notNull())
    .addColumn('release_note', engine.text, (c) => c.notNull())
    .addColumn('file_name', engine.text, (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('md5', engine.text, (c) => c.notNull())
    .addColumn('sha256', engine.text, (c) => c.notNull())
    .addColumn('prerequisites_all', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('firmwares_prototype_version', ['prototype_id', 'version'])
    .execute();
  await db.schema.createIndex('firmwares_sha256').on('firmwares').column('sha256').execute();

  await db.schema
    .createTable('firmware_prerequisites')
    .addColumn('firmware_id', engine.text, (c) => c.notNull().references('firmwares.id').onDelete('cascade'))
    .addColumn('prerequisite_id', engine.text, (c) => c.notNull().references('firmwares.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('firmware_prerequisites_pk', ['firmware_id', 'prerequisite_id'])
    .execute();
  await db.schema
    .createIndex('firmware_prerequisites_prerequisite')
    .on('firmware_prerequisites')
    .column('prerequisite_id')
    .execute();

  await db.schema
    .createTable('devices')
    .addColumn('id', engine.text, (c) => c.primaryKey())
    .addColumn('prototype_id', engine.text, (c) => c.notNull().references('prototypes.id').onDelete('cascade'))
    .addColumn('device_key', engine.text, (c) => c.notNull())
    .addColumn('name', engine.text, (c) => c.notNull())
    .addColumn('description', engine.text, (c) => c.notNull())
    .addColumn('reported_firmware_id', engine.text, (c) => c.references('firmwares.id').onDelete('set null'))
    .addColumn('reported_version', engine.text)
    .addColumn('reported_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('devices_prototype').on('devices').column('prototype_id').execute();
  await db.schema.createIndex('devices_reported_firmware').on('devices').column('reported_firmware_id').execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', engine.text, (c) => c.primaryKey())
    .addColumn('value', engine.text, (c) => c.notNull())
    .execute();
}
