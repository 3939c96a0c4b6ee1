import { describe, expect, it } from 'vitest';
import { nextAttemptAt, retryDelayMs, type RetryPolicy } from './backoff.js';
import { verifyWebhookSignature, webhookSignature } from './signature.js';

const policy: RetryPolicy = { baseDelayMs: 10_000, maxDelayMs: 3_600_000, maxAttempts: 5, maxAgeMs: 86_400_000 };

describe('the retry back-off', () => {
  it.each([
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [10, 3_600_000],
    [400, 3_600_000],
  ])('after %i failures waits between half and all of %i ms', (failures, full) => {
    expect(retryDelayMs(policy, failures, () => 0)).toBe(full / 2);
    expect(retryDelayMs(policy, failures, () => 1)).toBe(full);
  });

  it('gives up after the last attempt, or when the next try would come past the maximum age', () => {
    const created = new Date(0);
    expect(nextAttemptAt(policy, 4, created, new Date(1000), () => 0)).toEqual(new Date(1000 + 40_000));
    expect(nextAttemptAt(policy, 5, created, new Date(1000), () => 0)).toBeUndefined();
    expect(nextAttemptAt(policy, 1, created, new Date(86_400_000 - 4000), () => 0)).toBeUndefined();
    expect(nextAttemptAt(policy, 1, created, new Date(86_400_000 - 6000), () => 0)).toEqual(
      new Date(86_400_000 - 1000),
    );
  });
});

describe('the signature', () => {
  it('is v1= and the hex HMAC-SHA256 of "<timestamp>.<body>", and verifies only with the same secret, time and body', () => {
    // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    const signature = webhookSignature('whsec_test', 1_700_000_000, '{"a":1}');
    expect(signature).toBe('v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789');
    expect(verifyWebhookSignature('whsec_test', 1_700_000_000, '{"a":1}', signature)).toBe(true);
    expect(verifyWebhookSignature('whsec_test', 1_700_000_000, '{"a":1}', `v1=${'0'.repeat(64)}, ${signature}`)).toBe(
      true,
    );
    expect(verifyWebhookSignature('whsec_other', 1_700_000_000, '{"a":1}', signature)).toBe(false);
    expect(verifyWebhookSignature('whsec_test', 1_700_000_001, '{"a":1}', signature)).toBe(false);
    expect(verifyWebhookSignature('whsec_test', 1_700_000_000, '{"a":2}', signature)).toBe(false);
  });
});
