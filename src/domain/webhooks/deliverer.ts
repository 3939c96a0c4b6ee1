import type { Clock } from '../ports.js';
import { nextAttemptAt, type RetryPolicy } from './backoff.js';
import { MAX_DELIVERY_BODY_BYTES, type WebhookAttempt } from './model.js';
import type { AttemptOutcome, ClaimedDelivery, WebhookRepository, WebhookSender } from './ports.js';
import { webhookHeaders, webhookSignature } from './signature.js';

export interface DelivererOptions {
  readonly webhooks: WebhookRepository;
  readonly sender: WebhookSender;
  readonly clock: Clock;
  readonly retry: RetryPolicy;
  /** How often this node looks for due deliveries when nothing woke it. */
  readonly pollMs: number;
  /** How long one try may take (the sender's timeout); the lease adds a margin to it. */
  readonly timeoutMs: number;
  /** Tries this node runs at once. */
  readonly concurrency: number;
  readonly userAgent: string;
  readonly onError: (error: unknown) => void;
}

/**
 * Posts the outbox. Every node runs one: each round claims due deliveries with a lease (see
 * `WebhookRepository.claimDue`), so that a delivery is tried by one node at a time wherever its
 * event happened, and one whose node died mid-try is taken over when its lease ends. Each try is
 * signed afresh (its own timestamp), recorded with its answer, and either ends the delivery or
 * schedules the next try with exponential back-off.
 */
export class WebhookDeliverer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(private readonly options: DelivererOptions) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Looks for due deliveries now (a new event was written), rather than at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.round()
      .catch((error: unknown) => this.options.onError(error))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.wake();
          return;
        }
        this.timer = setTimeout(() => this.wake(), this.options.pollMs);
        this.timer.unref();
      });
  }

  /** Stops claiming and waits for the tries in flight (each ends within the timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Claims and posts until nothing is due; tries run `concurrency` at a time. */
  private async round(): Promise<void> {
    const { webhooks, clock, timeoutMs, concurrency } = this.options;
    while (!this.stopped) {
      const now = clock.now();
      // Longer than a try can take (the sender's timeout) with room to record it.
      const leaseUntil = new Date(now.getTime() + timeoutMs * 2 + 5_000);
      const claimed = await webhooks.claimDue(now, leaseUntil, concurrency);
      if (claimed.length === 0) return;
      await Promise.all(
        claimed.map((claim) => this.attempt(claim).catch((error: unknown) => this.options.onError(error))),
      );
    }
  }

  private async attempt({ delivery, subscription, leaseToken }: ClaimedDelivery): Promise<void> {
    const { sender, clock, retry, webhooks } = this.options;
    const started = clock.now();
    const number = delivery.attempts + 1;
    let attempt: WebhookAttempt;
    if (Buffer.byteLength(delivery.body) > MAX_DELIVERY_BODY_BYTES) {
      attempt = failure(number, started, 0, `the body is larger than ${MAX_DELIVERY_BODY_BYTES} bytes`);
    } else {
      const timestamp = Math.floor(started.getTime() / 1000);
      const result = await sender.post({
        url: subscription.url,
        body: delivery.body,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.options.userAgent,
          [webhookHeaders.id]: delivery.id,
          [webhookHeaders.event]: delivery.eventType,
          [webhookHeaders.timestamp]: String(timestamp),
          [webhookHeaders.signature]: webhookSignature(subscription.secret, timestamp, delivery.body),
          [webhookHeaders.attempt]: String(number),
        },
      });
      const durationMs = clock.now().getTime() - started.getTime();
      attempt =
        result.kind === 'error'
          ? failure(number, started, durationMs, result.message)
          : {
              attempt: number,
              at: started,
              durationMs,
              httpStatus: result.status,
              error: result.status >= 200 && result.status < 300 ? undefined : `answered HTTP ${result.status}`,
              responseExcerpt: result.excerpt,
            };
    }
    const now = clock.now();
    let outcome: AttemptOutcome;
    if (attempt.error === undefined) {
      outcome = { status: 'delivered', finishedAt: now };
    } else {
      const next = delivery.eventType === 'ping' ? undefined : nextAttemptAt(retry, number, delivery.createdAt, now);
      outcome = next ? { status: 'pending', nextAttemptAt: next } : { status: 'failed', finishedAt: now };
    }
    await webhooks.recordAttempt(delivery.id, leaseToken, attempt, outcome);
  }
}

const failure = (attempt: number, at: Date, durationMs: number, error: string): WebhookAttempt => ({
  attempt,
  at,
  durationMs,
  httpStatus: undefined,
  error,
  responseExcerpt: undefined,
});
