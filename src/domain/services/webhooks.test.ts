import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../db/database.js';
import { openDatabase } from '../../db/open.js';
import { SqlWebhookRepository } from '../../db/repositories/webhooks.js';
import { isDomainError } from '../errors.js';
import { LocalEventBus, type DomainEvent } from '../events.js';
import type { Actor } from '../model.js';
import { WebhookService } from './webhooks.js';

const admin: Actor = { kind: 'admin' };
const developer: Actor = { kind: 'user', role: 'developer', userId: 'Udev', name: 'dev@example.com' };
const viewer: Actor = { kind: 'user', role: 'viewer', userId: 'Uview', name: 'view@example.com' };
const at = new Date(1_700_000_000_000);

let dataDir: string;
let database: Database;
let repo: SqlWebhookRepository;
let events: LocalEventBus;
let service: WebhookService;
const failures: unknown[] = [];
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fota-webhook-service-'));
  database = await openDatabase({ dataDir });
  repo = new SqlWebhookRepository(database.db);
  events = new LocalEventBus((error) => failures.push(error));
  service = new WebhookService({
    webhooks: repo,
    events,
    clock: { now: () => at },
    maxSubscriptions: 10,
    refusal: () => undefined,
  });
  service.listen();
});
afterEach(async () => {
  await database.db.destroy();
  await rm(dataDir, { recursive: true, force: true });
  expect(failures).toEqual([]);
});

const progress = (status: 'upgraded' | 'failed' | 'delivered'): DomainEvent => ({
  type: 'push.progress',
  pushId: 'U1',
  deviceId: 'D0000001',
  firmwareId: 'F1',
  status,
  reason: status === 'failed' ? 'no report within 600 s' : undefined,
  at,
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('the webhook service', () => {
  it('lets only admins manage or read webhooks, whatever transport asks', async () => {
    const { subscription } = await service.create(admin, { url: 'https://h.example/', events: ['push.created'] });
    for (const actor of [developer, viewer]) {
      for (const call of [
        () => service.create(actor, { url: 'https://h.example/', events: ['push.created'] }),
        () => service.list(actor),
        () => service.get(actor, subscription.id),
        () => service.update(actor, subscription.id, { enabled: false }),
        () => service.rotateSecret(actor, subscription.id),
        () => service.delete(actor, subscription.id),
        () => service.deliveries(actor, subscription.id, {}),
        () => service.ping(actor, subscription.id),
      ]) {
        expect(isDomainError(await rejection(call()), 'forbidden')).toBe(true);
      }
    }
  });

  it('writes one delivery per subscription that asks for an event, all with the same event id and body', async () => {
    const failed = await service.create(admin, { url: 'https://a.example/', events: ['device.failed'] });
    const both = await service.create(admin, {
      url: 'https://b.example/',
      events: ['device.upgraded', 'device.failed'],
    });
    const off = await service.create(admin, { url: 'https://c.example/', events: ['device.failed'], enabled: false });
    events.publish(progress('failed'));
    events.publish(progress('upgraded'));
    events.publish(progress('delivered'));
    // The listener writes in the background: wait for the three deliveries (a and b, then b).
    for (let tries = 0; (await repo.countPending()) < 3 && tries < 500; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await repo.countPending()).toBe(3);

    const [onFailed] = (await service.deliveries(admin, failed.subscription.id, {})).deliveries;
    const fromBoth = (await service.deliveries(admin, both.subscription.id, {})).deliveries;
    expect((await service.deliveries(admin, off.subscription.id, {})).deliveries).toEqual([]);
    expect(fromBoth.map((d) => d.delivery.eventType).sort()).toEqual(['device.failed', 'device.upgraded']);
    const failedOfBoth = fromBoth.find((d) => d.delivery.eventType === 'device.failed')!;
    expect(failedOfBoth.delivery.eventId).toBe(onFailed!.delivery.eventId);
    expect(failedOfBoth.delivery.body).toBe(onFailed!.delivery.body);
    expect(failedOfBoth.delivery.id).not.toBe(onFailed!.delivery.id);
    expect(JSON.parse(onFailed!.delivery.body)).toEqual({
      id: onFailed!.delivery.eventId,
      type: 'device.failed',
      createdAt: at.toISOString(),
      data: { deviceId: 'D0000001', pushId: 'U1', fwId: 'F1', reason: 'no report within 600 s' },
    });
    expect(onFailed!.delivery).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('refuses unknown events and a page limit out of range', async () => {
    const unknown = await rejection(service.create(admin, { url: 'https://h.example/', events: ['push.progress'] }));
    expect((unknown as Error).message).toBe(
      'unknown event "push.progress"; events are firmware.uploaded, push.created, device.upgraded, device.failed',
    );
    const none = await rejection(service.create(admin, { url: 'https://h.example/', events: [] }));
    expect(isDomainError(none, 'invalid_input')).toBe(true);
    const { subscription } = await service.create(admin, { url: 'https://h.example/', events: ['push.created'] });
    const limit = await rejection(service.deliveries(admin, subscription.id, { limit: 101 }));
    expect((limit as Error).message).toBe('limit must be a whole number from 1 to 100');
  });
});
