import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The headers of every delivery (docs/integrations.md shows how a receiver checks them). */
export const webhookHeaders = {
  id: 'fota-webhook-id',
  event: 'fota-webhook-event',
  timestamp: 'fota-webhook-timestamp',
  signature: 'fota-webhook-signature',
  attempt: 'fota-webhook-attempt',
} as const;

/** A new signing secret: 32 random bytes from node:crypto, prefixed so that it reads as what it is. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/** `v1=` and the hex HMAC-SHA256, keyed by the secret, of `<timestamp>.<body>`. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Whether a signature header holds a `v1=` signature of this body and timestamp (a receiver's
 * check, in constant time; used by the tests and shown in the docs).
 */
export function verifyWebhookSignature(secret: string, timestamp: number, body: string, header: string): boolean {
  const expected = Buffer.from(webhookSignature(secret, timestamp, body));
  return header.split(',').some((part) => {
    const given = Buffer.from(part.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
