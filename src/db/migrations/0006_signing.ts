import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * Signed firmware (issue 12): each prototype's Ed25519 keys, the current one with no `retired_at`,
 * and each firmware's signed manifests, one per key that signed it. A key's private half is kept
 * only sealed with the key-encryption key (FOTA_SIGNING_KEK), or not at all for a key whose owner
 * signs with the CLI. Written once for SQLite and PostgreSQL; the text type is the engine's.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('signing_keys')
    .addColumn('prototype_id', engine.text, (c) => c.notNull().references('prototypes.id').onDelete('cascade'))
    .addColumn('key_id', engine.text, (c) => c.notNull())
    .addColumn('public_key', engine.text, (c) => c.notNull())
    .addColumn('sealed_private_key', engine.text)
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .addPrimaryKeyConstraint('signing_keys_pk', ['prototype_id', 'key_id'])
    .execute();

  await db.schema
    .createTable('firmware_signatures')
    .addColumn('firmware_id', engine.text, (c) => c.notNull().references('firmwares.id').onDelete('cascade'))
    .addColumn('key_id', engine.text, (c) => c.notNull())
    .addColumn('manifest', engine.text, (c) => c.notNull())
    .addColumn('signature', engine.text, (c) => c.notNull())
    .addColumn('signed_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('firmware_signatures_pk', ['firmware_id', 'key_id'])
    .execute();
}
