import type { Reader } from './readers.js';

/** How webhook deliveries are posted and retried (docs/integrations.md). */
export interface WebhookSettings {
  /** Receivers on loopback, private and link-local addresses may be posted to. */
  readonly allowPrivate: boolean;
  readonly timeoutMs: number;
  readonly maxSubscriptions: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
  /** How often each node looks for due deliveries. */
  readonly pollMs: number;
}

export interface WebhookConfig {
  readonly webhooks: WebhookSettings;
}

export const webhookVariables = [
  [
    'FOTA_WEBHOOK_ALLOW_PRIVATE',
    'false',
    'true: webhook receivers may be on loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7) and link-local addresses (a receiver on the LAN); false refuses them, checked on every address a name resolves to',
  ],
  [
    'FOTA_WEBHOOK_TIMEOUT_S',
    '10',
    'seconds one webhook try may take, connection and answer; redirects are not followed',
  ],
  ['FOTA_WEBHOOK_MAX_SUBSCRIPTIONS', '100', 'webhook subscriptions the server keeps at most'],
  [
    'FOTA_WEBHOOK_RETRY_BASE_S',
    '10',
    'seconds before the second try of a webhook delivery; each failure doubles it (with jitter)',
  ],
  ['FOTA_WEBHOOK_RETRY_MAX_S', '3600', 'the longest wait in seconds between two tries of a webhook delivery'],
  ['FOTA_WEBHOOK_MAX_ATTEMPTS', '20', 'tries of a webhook delivery, the first included, before it is marked failed'],
  [
    'FOTA_WEBHOOK_MAX_AGE_S',
    '259200',
    'seconds after its event past which a webhook delivery is not tried again but marked failed (3 days)',
  ],
  ['FOTA_WEBHOOK_POLL_S', '1', 'seconds between two looks of a node for webhook deliveries that are due'],
] as const;

export function readWebhooks(reader: Reader): WebhookConfig {
  const allowPrivate = reader.flag('FOTA_WEBHOOK_ALLOW_PRIVATE', 'false') === true;
  const retryBaseMs = reader.seconds('FOTA_WEBHOOK_RETRY_BASE_S', '10');
  const retryMaxMs = reader.seconds('FOTA_WEBHOOK_RETRY_MAX_S', '3600');
  if (retryMaxMs < retryBaseMs) reader.problem('FOTA_WEBHOOK_RETRY_MAX_S must be at least FOTA_WEBHOOK_RETRY_BASE_S');
  return {
    webhooks: {
      allowPrivate,
      timeoutMs: reader.seconds('FOTA_WEBHOOK_TIMEOUT_S', '10'),
      maxSubscriptions: reader.integer('FOTA_WEBHOOK_MAX_SUBSCRIPTIONS', '100', 1, 10_000),
      retryBaseMs,
      retryMaxMs,
      maxAttempts: reader.integer('FOTA_WEBHOOK_MAX_ATTEMPTS', '20', 1, 1000),
      maxAgeMs: reader.seconds('FOTA_WEBHOOK_MAX_AGE_S', '259200'),
      pollMs: reader.seconds('FOTA_WEBHOOK_POLL_S', '1'),
    },
  };
}
