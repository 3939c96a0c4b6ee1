import type { DeliveryStatus, StoredSubscription, WebhookAttempt, WebhookDelivery, WebhookEventType } from './model.js';

/** A new delivery, written pending and due at once. */
export interface NewDelivery {
  readonly id: string;
  readonly subscriptionId: string;
  readonly eventId: string;
  readonly eventType: WebhookDelivery['eventType'];
  readonly body: string;
  readonly createdAt: Date;
}

/** A due delivery this node holds until `leaseUntil`; only the holder of `leaseToken` records its try. */
export interface ClaimedDelivery {
  readonly delivery: WebhookDelivery;
  readonly subscription: StoredSubscription;
  readonly leaseToken: string;
}

/** What one try ended in: pending again at `nextAttemptAt`, delivered, or failed for good. */
export type AttemptOutcome =
  | { readonly status: 'pending'; readonly nextAttemptAt: Date }
  | { readonly status: 'delivered' | 'failed'; readonly finishedAt: Date };

/** Subscriptions, the outbox of deliveries, and their attempts, on any engine. */
export interface WebhookRepository {
  insertSubscription(subscription: StoredSubscription): Promise<void>;
  getSubscription(id: string): Promise<StoredSubscription | undefined>;
  listSubscriptions(): Promise<StoredSubscription[]>;
  countSubscriptions(): Promise<number>;
  /** The enabled subscriptions that ask for this event. */
  subscribersOf(type: WebhookEventType): Promise<StoredSubscription[]>;
  /** Replaces what may change (URL, description, events, enabled, secret); false when it is gone. */
  updateSubscription(subscription: StoredSubscription): Promise<boolean>;
  /** Deletes it with its deliveries and their attempts; false when there was none. */
  deleteSubscription(id: string): Promise<boolean>;

  /** Writes the deliveries of one event, all or none. */
  insertDeliveries(deliveries: readonly NewDelivery[]): Promise<void>;
  getDelivery(id: string): Promise<WebhookDelivery | undefined>;
  /** A subscription's deliveries, newest first, older than `before` (a delivery id) when given. */
  listDeliveries(
    subscriptionId: string,
    page: {
      readonly before?: string | undefined;
      readonly limit: number;
      readonly status?: DeliveryStatus | undefined;
    },
  ): Promise<WebhookDelivery[]>;
  attemptsOf(deliveryIds: readonly string[]): Promise<Map<string, WebhookAttempt[]>>;
  /**
   * Claims up to `limit` pending deliveries of enabled subscriptions that are due at `now`: each
   * with a compare-and-set on its due time, moved to `leaseUntil`, so that one node holds it and
   * another takes it over only once the lease ran out (its holder died mid-try).
   */
  claimDue(now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]>;
  /**
   * Records one try and its outcome, if `leaseToken` still holds the delivery (the attempt is kept
   * either way); false when the lease was lost to another node.
   */
  recordAttempt(
    deliveryId: string,
    leaseToken: string,
    attempt: WebhookAttempt,
    outcome: AttemptOutcome,
  ): Promise<boolean>;
  /** Makes a delivery pending and due at `now` again, whatever it ended in; false when there is none. */
  redeliver(deliveryId: string, now: Date): Promise<boolean>;
  /** How many deliveries are pending, for the logs. */
  countPending(): Promise<number>;
}

/** How a delivery is posted; the transport (node:http) lives outside the domain. */
export interface WebhookSender {
  post(request: {
    readonly url: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string;
  }): Promise<SendResult>;
}

export type SendResult =
  | { readonly kind: 'answered'; readonly status: number; readonly excerpt: string }
  | { readonly kind: 'error'; readonly message: string };
