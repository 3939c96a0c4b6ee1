import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredSubscription, WebhookAttempt } from '../../domain/webhooks/model.js';
import type { NewDelivery } from '../../domain/webhooks/ports.js';
import type { OpenedDatabase } from './repositories.contract.js';
import { SqlWebhookRepository } from './webhooks.js';

const at = (ms: number) => new Date(1_700_000_000_000 + ms);
const subscription = (id: string, extra: Partial<StoredSubscription> = {}): StoredSubscription => ({
  id,
  url: `https://hooks.example.com/${id}`,
  description: '',
  events: ['firmware.uploaded', 'device.failed'],
  enabled: true,
  secret: `whsec_${id}`,
  createdBy: 'admin',
  createdAt: at(0),
  updatedAt: at(0),
  ...extra,
});
const delivery = (id: string, subscriptionId: string, ms: number): NewDelivery => ({
  id,
  subscriptionId,
  eventId: `evt_${id}`,
  eventType: 'firmware.uploaded',
  body: `{"id":"evt_${id}"}`,
  createdAt: at(ms),
});
const attempt = (n: number, extra: Partial<WebhookAttempt> = {}): WebhookAttempt => ({
  attempt: n,
  at: at(100 + n),
  durationMs: 12,
  httpStatus: 500,
  error: 'answered HTTP 500',
  responseExcerpt: 'oops',
  ...extra,
});

/** The webhook repository's contract, run unchanged on SQLite (unit tier) and PostgreSQL (engines tier). */
export function webhookRepositoryContract(engine: string, open: () => Promise<OpenedDatabase>): void {
  describe(`the webhook repository on ${engine}`, () => {
    let opened: OpenedDatabase;
    let repo: SqlWebhookRepository;
    beforeEach(async () => {
      opened = await open();
      repo = new SqlWebhookRepository(opened.database.db);
    });
    afterEach(async () => opened.close());

    it('stores, lists, matches, updates and deletes subscriptions', async () => {
      await repo.insertSubscription(subscription('wh_a'));
      await repo.insertSubscription(subscription('wh_b', { events: ['push.created'], createdAt: at(1) }));
      await repo.insertSubscription(subscription('wh_c', { enabled: false, createdAt: at(2) }));
      expect(await repo.getSubscription('wh_a')).toEqual(subscription('wh_a'));
      expect((await repo.listSubscriptions()).map((s) => s.id)).toEqual(['wh_a', 'wh_b', 'wh_c']);
      expect(await repo.countSubscriptions()).toBe(3);
      expect((await repo.subscribersOf('firmware.uploaded')).map((s) => s.id)).toEqual(['wh_a']);
      expect((await repo.subscribersOf('push.created')).map((s) => s.id)).toEqual(['wh_b']);

      const changed = subscription('wh_a', { url: 'http://other/', enabled: false, secret: 'new', updatedAt: at(9) });
      expect(await repo.updateSubscription(changed)).toBe(true);
      expect(await repo.getSubscription('wh_a')).toEqual(changed);
      expect(await repo.updateSubscription(subscription('wh_none'))).toBe(false);

      await repo.insertDeliveries([delivery('d1', 'wh_a', 1)]);
      await repo.recordAttempt('d1', 'nobody', attempt(1), { status: 'failed', finishedAt: at(5) });
      expect(await repo.deleteSubscription('wh_a')).toBe(true);
      expect(await repo.deleteSubscription('wh_a')).toBe(false);
      expect(await repo.getDelivery('d1')).toBeUndefined();
      expect(await repo.countSubscriptions()).toBe(2);
    });

    it('claims a due delivery once, however many claim it at the same time, and only of enabled subscriptions', async () => {
      await repo.insertSubscription(subscription('wh_a'));
      await repo.insertSubscription(subscription('wh_off', { enabled: false }));
      await repo.insertDeliveries([delivery('d1', 'wh_a', 1), delivery('d2', 'wh_a', 2), delivery('d3', 'wh_off', 1)]);
      await repo.insertDeliveries([delivery('later', 'wh_a', 5000)]);
      const claims = await Promise.all(Array.from({ length: 6 }, () => repo.claimDue(at(100), at(60_000), 10)));
      const claimed = claims.flat().map((claim) => claim.delivery.id);
      expect(claimed.sort()).toEqual(['d1', 'd2']);
      expect(claims.flat()[0]!.subscription.secret).toBe('whsec_wh_a');
      // Held by the lease: nothing is due again until it ends.
      expect(await repo.claimDue(at(200), at(60_000), 10)).toEqual([]);
      // The holder died: once the lease ends, another node takes it over.
      const takenOver = await repo.claimDue(at(60_000), at(120_000), 10);
      expect(takenOver.map((claim) => claim.delivery.id).sort()).toEqual(['d1', 'd2', 'later']);
    });

    it('records attempts under the lease, schedules the next, ends, and redelivers with the same id', async () => {
      await repo.insertSubscription(subscription('wh_a'));
      await repo.insertDeliveries([delivery('d1', 'wh_a', 1)]);
      const [claim] = await repo.claimDue(at(10), at(1000), 1);
      expect(
        await repo.recordAttempt('d1', claim!.leaseToken, attempt(1), { status: 'pending', nextAttemptAt: at(500) }),
      ).toBe(true);
      expect(await repo.getDelivery('d1')).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: at(500) });
      expect(await repo.claimDue(at(499), at(2000), 1)).toEqual([]);
      const [second] = await repo.claimDue(at(500), at(2000), 1);
      // A stale lease records its attempt but does not move the delivery.
      expect(
        await repo.recordAttempt('d1', claim!.leaseToken, attempt(9), { status: 'failed', finishedAt: at(600) }),
      ).toBe(false);
      expect(
        await repo.recordAttempt('d1', second!.leaseToken, attempt(2, { httpStatus: 200, error: undefined }), {
          status: 'delivered',
          finishedAt: at(700),
        }),
      ).toBe(true);
      expect(await repo.getDelivery('d1')).toMatchObject({ status: 'delivered', attempts: 2, finishedAt: at(700) });
      const attempts = (await repo.attemptsOf(['d1', 'none'])).get('d1')!;
      expect(attempts.map((a) => [a.attempt, a.httpStatus, a.error])).toEqual([
        [1, 500, 'answered HTTP 500'],
        [2, 200, undefined],
        [9, 500, 'answered HTTP 500'],
      ]);
      expect(attempts[0]).toEqual(attempt(1));

      expect(await repo.redeliver('d1', at(800))).toBe(true);
      expect(await repo.getDelivery('d1')).toMatchObject({ status: 'pending', finishedAt: undefined });
      expect((await repo.claimDue(at(800), at(5000), 5)).map((c) => c.delivery.id)).toEqual(['d1']);
      expect(await repo.redeliver('none', at(800))).toBe(false);
      expect(await repo.countPending()).toBe(1);
    });

    it('pages deliveries newest first, by status', async () => {
      await repo.insertSubscription(subscription('wh_a'));
      await repo.insertDeliveries(Array.from({ length: 5 }, (_, i) => delivery(`d${i}`, 'wh_a', i)));
      const first = await repo.listDeliveries('wh_a', { limit: 2 });
      expect(first.map((d) => d.id)).toEqual(['d4', 'd3']);
      const next = await repo.listDeliveries('wh_a', { limit: 10, before: 'd3' });
      expect(next.map((d) => d.id)).toEqual(['d2', 'd1', 'd0']);
      expect(await repo.listDeliveries('wh_a', { limit: 10, status: 'delivered' })).toEqual([]);
      expect(await repo.listDeliveries('wh_other', { limit: 10 })).toEqual([]);
    });
  });
}
