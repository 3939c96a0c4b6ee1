import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * Webhooks: subscriptions (a URL, the events it wants, the secret that signs each body), the
 * outbox of deliveries (one row per event and subscription, claimed by any node with a lease),
 * and every attempt with its answer. Written once for SQLite and PostgreSQL.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('webhook_subscriptions')
    .addColumn('id', engine.text, (c) => c.primaryKey())
    .addColumn('url', engine.text, (c) => c.notNull())
    .addColumn('description', engine.text, (c) => c.notNull())
    .addColumn('events', engine.text, (c) => c.notNull())
    .addColumn('secret', engine.text, (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_by', engine.text, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', engine.text, (c) => c.primaryKey())
    .addColumn('subscription_id', engine.text, (c) =>
      c.notNull().references('webhook_subscriptions.id').onDelete('cascade'),
    )
    .addColumn('event_id', engine.text, (c) => c.notNull())
    .addColumn('event_type', engine.text, (c) => c.notNull())
    .addColumn('body', engine.text, (c) => c.notNull())
    .addColumn('status', engine.text, (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_token', engine.text)
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due')
    .on('webhook_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_subscription')
    .on('webhook_deliveries')
    .columns(['subscription_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('id', engine.serial.type, (c) => engine.serial.modify(c))
    .addColumn('delivery_id', engine.text, (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    .addColumn('error', engine.text)
    .addColumn('response_excerpt', engine.text)
    .execute();
  await db.schema
    .createIndex('webhook_attempts_delivery')
    .on('webhook_attempts')
    .columns(['delivery_id', 'attempt'])
    .execute();
}
