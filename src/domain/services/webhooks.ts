import { actorName, requireAdmin } from '../access.js';
import { invalid, notFound } from '../errors.js';
import type { DomainEvent, EventBus } from '../events.js';
import { randomAlphanumeric } from '../ids.js';
import type { Actor } from '../model.js';
import type { Clock } from '../ports.js';
import { limits, requireText } from '../text.js';
import {
  deliveryStatuses,
  isWebhookEventType,
  webhookEventTypes,
  type DeliveryStatus,
  type StoredSubscription,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookEventType,
  type WebhookSubscription,
} from '../webhooks/model.js';
import { webhookBody, webhookEventOf } from '../webhooks/payloads.js';
import type { NewDelivery, WebhookRepository } from '../webhooks/ports.js';
import { newWebhookSecret } from '../webhooks/signature.js';

/** The longest subscription URL. */
export const MAX_WEBHOOK_URL_LENGTH = 2000;
/** The largest page of deliveries one request reads. */
export const MAX_DELIVERY_PAGE = 100;

export interface SubscriptionRequest {
  readonly url: string;
  readonly description?: string | undefined;
  readonly events: readonly string[];
  readonly enabled?: boolean | undefined;
}

export interface SubscriptionPatch {
  readonly url?: string | undefined;
  readonly description?: string | undefined;
  readonly events?: readonly string[] | undefined;
  readonly enabled?: boolean | undefined;
}

export interface DeliveryWithAttempts {
  readonly delivery: WebhookDelivery;
  readonly attempts: readonly WebhookAttempt[];
}

export interface DeliveryPage {
  readonly deliveries: readonly DeliveryWithAttempts[];
  /** Pass as `before` for the next (older) page; undefined on the last one. */
  readonly nextCursor: string | undefined;
}

/**
 * Webhook subscriptions and their deliveries, for administrators only: a subscription's URL may
 * itself be a credential (chat services put their token in it) and its secret signs what fota
 * says. Each domain event a subscription asks for becomes one delivery row here, on the node where
 * the event happened (the bus's handlers run once, there); every node's deliverer posts them.
 */
export class WebhookService {
  constructor(
    private readonly deps: {
      readonly webhooks: WebhookRepository;
      readonly events: EventBus;
      readonly clock: Clock;
      readonly maxSubscriptions: number;
      /** Why this URL may not be posted to (a private address while those are refused), if it may not. */
      readonly refusal: (url: URL) => string | undefined;
      /** Called once deliveries were written, so that they go out now rather than at the next poll. */
      readonly written?: () => void;
    },
  ) {}

  /** Writes deliveries for the events subscriptions ask for; returns the function that stops. */
  listen(): () => void {
    return this.deps.events.subscribe((event) => this.onEvent(event));
  }

  /** Creates a subscription; the answer's secret is shown only this once. */
  async create(
    actor: Actor,
    request: SubscriptionRequest,
  ): Promise<{ subscription: WebhookSubscription; secret: string }> {
    requireAdmin(actor);
    const url = this.requireUrl(request.url);
    const events = requireEvents(request.events);
    const description = requireText('description', request.description ?? '', limits.description);
    if ((await this.deps.webhooks.countSubscriptions()) >= this.deps.maxSubscriptions) {
      throw invalid(
        `there are ${this.deps.maxSubscriptions} webhook subscriptions already, the most FOTA_WEBHOOK_MAX_SUBSCRIPTIONS allows`,
      );
    }
    const now = this.deps.clock.now();
    const stored: StoredSubscription = {
      id: `wh_${randomAlphanumeric(12)}`,
      url,
      description,
      events,
      enabled: request.enabled ?? true,
      secret: newWebhookSecret(),
      createdBy: actorName(actor),
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.webhooks.insertSubscription(stored);
    return { subscription: withoutSecret(stored), secret: stored.secret };
  }

  async list(actor: Actor): Promise<WebhookSubscription[]> {
    requireAdmin(actor);
    return (await this.deps.webhooks.listSubscriptions()).map(withoutSecret);
  }

  async get(actor: Actor, id: string): Promise<WebhookSubscription> {
    requireAdmin(actor);
    return withoutSecret(await this.require(id));
  }

  async update(actor: Actor, id: string, patch: SubscriptionPatch): Promise<WebhookSubscription> {
    requireAdmin(actor);
    const current = await this.require(id);
    const next: StoredSubscription = {
      ...current,
      url: patch.url === undefined ? current.url : this.requireUrl(patch.url),
      description:
        patch.description === undefined
          ? current.description
          : requireText('description', patch.description, limits.description),
      events: patch.events === undefined ? current.events : requireEvents(patch.events),
      enabled: patch.enabled ?? current.enabled,
      updatedAt: this.deps.clock.now(),
    };
    if (!(await this.deps.webhooks.updateSubscription(next))) throw notFound(`no webhook subscription ${id}`);
    return withoutSecret(next);
  }

  /** A new secret, shown only this once; the old one signs nothing from now on. */
  async rotateSecret(actor: Actor, id: string): Promise<{ subscription: WebhookSubscription; secret: string }> {
    requireAdmin(actor);
    const current = await this.require(id);
    const next: StoredSubscription = { ...current, secret: newWebhookSecret(), updatedAt: this.deps.clock.now() };
    if (!(await this.deps.webhooks.updateSubscription(next))) throw notFound(`no webhook subscription ${id}`);
    return { subscription: withoutSecret(next), secret: next.secret };
  }

  /** Deletes the subscription with its deliveries, pending ones included. */
  async delete(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    if (!(await this.deps.webhooks.deleteSubscription(id))) throw notFound(`no webhook subscription ${id}`);
  }

  /** A page of a subscription's deliveries with their attempts, newest first. */
  async deliveries(
    actor: Actor,
    id: string,
    query: {
      readonly before?: string | undefined;
      readonly limit?: number | undefined;
      readonly status?: string | undefined;
    },
  ): Promise<DeliveryPage> {
    requireAdmin(actor);
    const limit = query.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DELIVERY_PAGE) {
      throw invalid(`limit must be a whole number from 1 to ${MAX_DELIVERY_PAGE}`);
    }
    const status = query.status as DeliveryStatus | undefined;
    if (status !== undefined && !deliveryStatuses.includes(status)) {
      throw invalid(`status must be one of ${deliveryStatuses.join(', ')}, not "${query.status}"`);
    }
    await this.require(id);
    const page = await this.deps.webhooks.listDeliveries(id, { before: query.before, limit: limit + 1, status });
    const more = page.length > limit;
    const deliveries = more ? page.slice(0, limit) : page;
    const attempts = await this.deps.webhooks.attemptsOf(deliveries.map((delivery) => delivery.id));
    return {
      deliveries: deliveries.map((delivery) => ({ delivery, attempts: attempts.get(delivery.id) ?? [] })),
      nextCursor: more ? deliveries.at(-1)!.id : undefined,
    };
  }

  async delivery(actor: Actor, id: string, deliveryId: string): Promise<DeliveryWithAttempts> {
    requireAdmin(actor);
    const delivery = await this.requireDelivery(id, deliveryId);
    const attempts = await this.deps.webhooks.attemptsOf([delivery.id]);
    return { delivery, attempts: attempts.get(delivery.id) ?? [] };
  }

  /**
   * Sends a delivery again, with the same delivery id and body: pending and due now, whatever it
   * ended in. Past the tries or age the retry policy allows, it gets this one try.
   */
  async redeliver(actor: Actor, id: string, deliveryId: string): Promise<WebhookDelivery> {
    requireAdmin(actor);
    await this.requireDelivery(id, deliveryId);
    if (!(await this.deps.webhooks.redeliver(deliveryId, this.deps.clock.now()))) {
      throw notFound(`no delivery ${deliveryId}`);
    }
    this.deps.written?.();
    return (await this.deps.webhooks.getDelivery(deliveryId))!;
  }

  /** Queues a `ping` to the subscription (tried once, even when disabled events would not go). */
  async ping(actor: Actor, id: string): Promise<WebhookDelivery> {
    requireAdmin(actor);
    const subscription = await this.require(id);
    const now = this.deps.clock.now();
    const eventId = newEventId();
    const delivery: NewDelivery = {
      id: newDeliveryId(),
      subscriptionId: subscription.id,
      eventId,
      eventType: 'ping',
      body: webhookBody(eventId, 'ping', now, { subscriptionId: subscription.id, events: subscription.events }),
      createdAt: now,
    };
    await this.deps.webhooks.insertDeliveries([delivery]);
    this.deps.written?.();
    return (await this.deps.webhooks.getDelivery(delivery.id))!;
  }

  /** One delivery per enabled subscription that asks for this event, written together. */
  private async onEvent(event: DomainEvent): Promise<void> {
    const webhook = webhookEventOf(event);
    if (!webhook) return;
    const subscribers = await this.deps.webhooks.subscribersOf(webhook.type);
    if (subscribers.length === 0) return;
    const eventId = newEventId();
    const body = webhookBody(eventId, webhook.type, event.at, webhook.data);
    const now = this.deps.clock.now();
    await this.deps.webhooks.insertDeliveries(
      subscribers.map((subscription) => ({
        id: newDeliveryId(),
        subscriptionId: subscription.id,
        eventId,
        eventType: webhook.type,
        body,
        createdAt: now,
      })),
    );
    this.deps.written?.();
  }

  private async require(id: string): Promise<StoredSubscription> {
    const subscription = await this.deps.webhooks.getSubscription(id);
    if (!subscription) throw notFound(`no webhook subscription ${id}`);
    return subscription;
  }

  private async requireDelivery(id: string, deliveryId: string): Promise<WebhookDelivery> {
    await this.require(id);
    const delivery = await this.deps.webhooks.getDelivery(deliveryId);
    if (!delivery || delivery.subscriptionId !== id) throw notFound(`no delivery ${deliveryId} of webhook ${id}`);
    return delivery;
  }

  /** An http(s) URL without credentials, of bounded length, to an address this server may post to. */
  private requireUrl(text: string): string {
    if (typeof text !== 'string' || text.trim() === '') throw invalid('url is required');
    const trimmed = text.trim();
    if (trimmed.length > MAX_WEBHOOK_URL_LENGTH)
      throw invalid(`url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw invalid(`url "${trimmed}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw invalid(`url must be http:// or https://, not ${url.protocol}`);
    }
    if (url.username !== '' || url.password !== '') throw invalid('url must not hold a user name or password');
    if (url.hash !== '') throw invalid('url must not have a #fragment');
    const refusal = this.deps.refusal(url);
    if (refusal !== undefined) throw invalid(refusal);
    return url.href;
  }
}

const newEventId = (): string => `evt_${randomAlphanumeric(20)}`;
const newDeliveryId = (): string => `whd_${randomAlphanumeric(20)}`;

function requireEvents(events: readonly string[]): WebhookEventType[] {
  if (!Array.isArray(events) || events.length === 0) {
    throw invalid(`events must list at least one of ${webhookEventTypes.join(', ')}`);
  }
  const unknown = events.filter((event) => !isWebhookEventType(event));
  if (unknown.length > 0) {
    throw invalid(
      `unknown event ${unknown.map((e) => `"${e}"`).join(', ')}; events are ${webhookEventTypes.join(', ')}`,
    );
  }
  return webhookEventTypes.filter((event) => events.includes(event));
}

const withoutSecret = ({ secret: _, ...subscription }: StoredSubscription): WebhookSubscription => subscription;
