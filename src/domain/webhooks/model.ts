/**
 * Webhooks: a subscription asks for some events at a URL; each event becomes one delivery per
 * matching subscription, posted until the receiver answers 2xx, with every attempt kept.
 */

/** The events a subscription may ask for; `ping` is only sent on request, to test a receiver. */
export const webhookEventTypes = ['firmware.uploaded', 'push.created', 'device.upgraded', 'device.failed'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];
export type DeliveredEventType = WebhookEventType | 'ping';

export const isWebhookEventType = (value: string): value is WebhookEventType =>
  (webhookEventTypes as readonly string[]).includes(value);

export interface WebhookSubscription {
  readonly id: string;
  readonly url: string;
  readonly description: string;
  readonly events: readonly WebhookEventType[];
  readonly enabled: boolean;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A subscription as stored: with the secret that signs its deliveries. */
export interface StoredSubscription extends WebhookSubscription {
  readonly secret: string;
}

/** `pending` until the receiver answers 2xx (`delivered`) or the tries run out (`failed`). */
export const deliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export interface WebhookDelivery {
  /** Sent as `Fota-Webhook-Id`; the same on every try of this delivery, redeliveries included. */
  readonly id: string;
  readonly subscriptionId: string;
  /** The event's id, in the body: the same for every subscription that gets this event. */
  readonly eventId: string;
  readonly eventType: DeliveredEventType;
  /** The exact JSON body that is signed and posted. */
  readonly body: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** When the next try is due (while pending). */
  readonly nextAttemptAt: Date;
  readonly createdAt: Date;
  readonly finishedAt: Date | undefined;
}

/** One try of a delivery and what the receiver answered. */
export interface WebhookAttempt {
  readonly attempt: number;
  readonly at: Date;
  readonly durationMs: number;
  /** The HTTP status answered; undefined when no answer came (see `error`). */
  readonly httpStatus: number | undefined;
  /** Why no 2xx: a connection error, a timeout, a refused address, or the status in words. */
  readonly error: string | undefined;
  /** The first bytes of the answer's body (at most RESPONSE_EXCERPT_BYTES). */
  readonly responseExcerpt: string | undefined;
}

/** The most bytes of a receiver's answer kept per attempt. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** The largest body one delivery posts; events are far smaller, this bounds them all the same. */
export const MAX_DELIVERY_BODY_BYTES = 64 * 1024;
