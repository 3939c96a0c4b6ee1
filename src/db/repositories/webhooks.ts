import { randomAlphanumeric } from '../../domain/ids.js';
import type {
  DeliveryStatus,
  StoredSubscription,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEventType,
} from '../../domain/webhooks/model.js';
import type { AttemptOutcome, ClaimedDelivery, NewDelivery, WebhookRepository } from '../../domain/webhooks/ports.js';
import type { Db } from '../database.js';
import type { WebhookAttemptTable, WebhookDeliveryTable, WebhookSubscriptionTable } from '../schema.js';
import { chunks } from './chunks.js';

/** Webhook subscriptions, their outbox of deliveries and the attempts, on any engine. */
export class SqlWebhookRepository implements WebhookRepository {
  constructor(private readonly db: Db) {}

  async insertSubscription(subscription: StoredSubscription): Promise<void> {
    await this.db.insertInto('webhook_subscriptions').values(subscriptionRow(subscription)).execute();
  }

  async getSubscription(id: string): Promise<StoredSubscription | undefined> {
    const row = await this.db.selectFrom('webhook_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromSubscriptionRow(row);
  }

  async listSubscriptions(): Promise<StoredSubscription[]> {
    const rows = await this.db
      .selectFrom('webhook_subscriptions')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(fromSubscriptionRow);
  }

  async countSubscriptions(): Promise<number> {
    const row = await this.db
      .selectFrom('webhook_subscriptions')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async subscribersOf(type: WebhookEventType): Promise<StoredSubscription[]> {
    // Few rows (a bounded number of subscriptions): the events are matched here, not in SQL.
    const rows = await this.db
      .selectFrom('webhook_subscriptions')
      .selectAll()
      .where('enabled', '=', 1)
      .orderBy('id')
      .execute();
    return rows.map(fromSubscriptionRow).filter((subscription) => subscription.events.includes(type));
  }

  async updateSubscription(subscription: StoredSubscription): Promise<boolean> {
    const { id, created_at: _, created_by: __, ...values } = subscriptionRow(subscription);
    const result = await this.db
      .updateTable('webhook_subscriptions')
      .set(values)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async deleteSubscription(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const deliveries = trx.selectFrom('webhook_deliveries').select('id').where('subscription_id', '=', id);
      await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
      await trx.deleteFrom('webhook_deliveries').where('subscription_id', '=', id).execute();
      const result = await trx.deleteFrom('webhook_subscriptions').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    });
  }

  async insertDeliveries(deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const rows: WebhookDeliveryTable[] = deliveries.map((delivery) => ({
      id: delivery.id,
      subscription_id: delivery.subscriptionId,
      event_id: delivery.eventId,
      event_type: delivery.eventType,
      body: delivery.body,
      status: 'pending',
      attempts: 0,
      next_attempt_at: delivery.createdAt.getTime(),
      lease_token: null,
      created_at: delivery.createdAt.getTime(),
      finished_at: null,
    }));
    await this.db.transaction().execute(async (trx) => {
      for (const part of chunks(rows, 100)) await trx.insertInto('webhook_deliveries').values(part).execute();
    });
  }

  async getDelivery(id: string): Promise<WebhookDelivery | undefined> {
    const row = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromDeliveryRow(row);
  }

  async listDeliveries(
    subscriptionId: string,
    page: {
      readonly before?: string | undefined;
      readonly limit: number;
      readonly status?: DeliveryStatus | undefined;
    },
  ): Promise<WebhookDelivery[]> {
    let query = this.db.selectFrom('webhook_deliveries').selectAll().where('subscription_id', '=', subscriptionId);
    if (page.status !== undefined) query = query.where('status', '=', page.status);
    if (page.before !== undefined) {
      const before = await this.db
        .selectFrom('webhook_deliveries')
        .select(['created_at', 'id'])
        .where('id', '=', page.before)
        .where('subscription_id', '=', subscriptionId)
        .executeTakeFirst();
      if (!before) return [];
      query = query.where((eb) =>
        eb.or([
          eb('created_at', '<', before.created_at),
          eb.and([eb('created_at', '=', before.created_at), eb('id', '<', before.id)]),
        ]),
      );
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
    return rows.map(fromDeliveryRow);
  }

  async attemptsOf(deliveryIds: readonly string[]): Promise<Map<string, WebhookAttempt[]>> {
    const attempts = new Map<string, WebhookAttempt[]>(deliveryIds.map((id) => [id, []]));
    for (const part of chunks(deliveryIds, 500)) {
      const rows = await this.db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('delivery_id', 'in', part)
        .orderBy('delivery_id')
        .orderBy('attempt')
        .orderBy('id')
        .execute();
      for (const row of rows) attempts.get(row.delivery_id)!.push(fromAttemptRow(row));
    }
    return attempts;
  }

  async claimDue(now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
    const due = await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
      .selectAll('d')
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now.getTime())
      .where('s.enabled', '=', 1)
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .limit(limit)
      .execute();
    const claimed: ClaimedDelivery[] = [];
    for (const row of due) {
      const leaseToken = randomAlphanumeric(16);
      // Compare and set: only the node whose update still sees the due time it read holds it.
      const result = await this.db
        .updateTable('webhook_deliveries')
        .set({ next_attempt_at: leaseUntil.getTime(), lease_token: leaseToken })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '=', row.next_attempt_at)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) continue;
      const subscription = await this.getSubscription(row.subscription_id);
      if (!subscription) continue;
      claimed.push({
        delivery: fromDeliveryRow({ ...row, next_attempt_at: leaseUntil.getTime(), lease_token: leaseToken }),
        subscription,
        leaseToken,
      });
    }
    return claimed;
  }

  async recordAttempt(
    deliveryId: string,
    leaseToken: string,
    attempt: WebhookAttempt,
    outcome: AttemptOutcome,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const exists = await trx
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('id', '=', deliveryId)
        .executeTakeFirst();
      if (!exists) return false;
      await trx
        .insertInto('webhook_attempts')
        .values({
          delivery_id: deliveryId,
          attempt: attempt.attempt,
          at: attempt.at.getTime(),
          duration_ms: Math.round(attempt.durationMs),
          http_status: attempt.httpStatus ?? null,
          error: attempt.error ?? null,
          response_excerpt: attempt.responseExcerpt ?? null,
        })
        .execute();
      const result = await trx
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          status: outcome.status,
          lease_token: null,
          next_attempt_at: outcome.status === 'pending' ? outcome.nextAttemptAt.getTime() : eb.ref('next_attempt_at'),
          finished_at: outcome.status === 'pending' ? null : outcome.finishedAt.getTime(),
        }))
        .where('id', '=', deliveryId)
        .where('lease_token', '=', leaseToken)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    });
  }

  async redeliver(deliveryId: string, now: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: now.getTime(), lease_token: null, finished_at: null })
      .where('id', '=', deliveryId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async countPending(): Promise<number> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

const subscriptionRow = (subscription: StoredSubscription): WebhookSubscriptionTable => ({
  id: subscription.id,
  url: subscription.url,
  description: subscription.description,
  events: JSON.stringify(subscription.events),
  secret: subscription.secret,
  enabled: subscription.enabled ? 1 : 0,
  created_by: subscription.createdBy,
  created_at: subscription.createdAt.getTime(),
  updated_at: subscription.updatedAt.getTime(),
});

const fromSubscriptionRow = (row: WebhookSubscriptionTable): StoredSubscription => ({
  id: row.id,
  url: row.url,
  description: row.description,
  events: JSON.parse(row.events) as WebhookEventType[],
  secret: row.secret,
  enabled: Number(row.enabled) === 1,
  createdBy: row.created_by,
  createdAt: new Date(Number(row.created_at)),
  updatedAt: new Date(Number(row.updated_at)),
});

const fromDeliveryRow = (row: WebhookDeliveryTable): WebhookDelivery => ({
  id: row.id,
  subscriptionId: row.subscription_id,
  eventId: row.event_id,
  eventType: row.event_type as WebhookDelivery['eventType'],
  body: row.body,
  status: row.status as DeliveryStatus,
  attempts: Number(row.attempts),
  nextAttemptAt: new Date(Number(row.next_attempt_at)),
  createdAt: new Date(Number(row.created_at)),
  finishedAt: row.finished_at === null ? undefined : new Date(Number(row.finished_at)),
});

const fromAttemptRow = (row: Omit<WebhookAttemptTable, 'id'>): WebhookAttempt => ({
  attempt: Number(row.attempt),
  at: new Date(Number(row.at)),
  durationMs: Number(row.duration_ms),
  httpStatus: row.http_status ?? undefined,
  error: row.error ?? undefined,
  responseExcerpt: row.response_excerpt ?? undefined,
});
