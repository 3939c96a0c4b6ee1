import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../errors.js';
import type { Actor } from '../model.js';
import type { SettingsRepository } from '../ports.js';

const ADMIN_TOKEN_HASH = 'admin_token_sha256';

export const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();

/** A new random administrator token. */
export const newAdminToken = (): string => `fota_${randomBytes(32).toString('base64url')}`;

/**
 * The administrator's bearer token. Only its SHA-256 is kept: the token itself is random and long,
 * so a fast hash is enough, and comparisons are in constant time.
 */
export class AdminTokens {
  private expectedHash: Buffer | undefined;

  constructor(private readonly settings: SettingsRepository) {}

  /**
   * Uses `configured` when given; otherwise the stored hash; otherwise generates a token, stores its
   * hash and returns the token so it can be shown once.
   */
  async prepare(configured: string | undefined): Promise<{ generated: string | undefined }> {
    const { generated } = await this.load(configured);
    if (generated !== undefined) await this.store(generated);
    return { generated };
  }

  /**
   * As `prepare`, but a generated token is only held in memory, to be stored with `store` later:
   * a server checks tokens from its first request, and stores a generated one only once it listens.
   */
  async load(configured: string | undefined): Promise<{ generated: string | undefined }> {
    if (configured !== undefined) {
      this.expectedHash = hashToken(configured);
      return { generated: undefined };
    }
    const stored = await this.settings.get(ADMIN_TOKEN_HASH);
    if (stored !== undefined) {
      this.expectedHash = Buffer.from(stored, 'hex');
      return { generated: undefined };
    }
    const generated = newAdminToken();
    this.expectedHash = hashToken(generated);
    return { generated };
  }

  /**
   * Generates a new token and stores its hash in place of the old one, which stops working (for a
   * server that starts afterwards: a running server keeps the hash it read). Returns the token,
   * to be shown once.
   */
  async reset(): Promise<string> {
    const token = newAdminToken();
    await this.store(token);
    return token;
  }

  /** Whether a token's hash is stored: the primary of `fota serve --workers` asks before they start. */
  async isStored(): Promise<boolean> {
    return (await this.settings.get(ADMIN_TOKEN_HASH)) !== undefined;
  }

  /** Stores the hash of `token` as the administrator's, in place of the old one. */
  async store(token: string): Promise<void> {
    this.expectedHash = hashToken(token);
    await this.settings.set(ADMIN_TOKEN_HASH, this.expectedHash.toString('hex'));
  }

  authenticate(token: string | undefined): Actor {
    if (this.expectedHash === undefined) throw new DomainError('unavailable', 'admin tokens are not ready');
    if (token === undefined || token === '') throw new DomainError('unauthenticated', 'a bearer token is required');
    if (!timingSafeEqual(hashToken(token), this.expectedHash)) {
      throw new DomainError('unauthenticated', 'the bearer token is not valid');
    }
    return { kind: 'admin' };
  }

  /**
   * A seal of `value` by the current admin token (an HMAC keyed by its hash): what is sealed by one
   * token no longer verifies once another token replaces it, as after `fota admin reset-token`.
   */
  seal(value: string): string {
    if (this.expectedHash === undefined) throw new DomainError('unavailable', 'admin tokens are not ready');
    return createHmac('sha256', this.expectedHash).update('fota admin session\0').update(value).digest('base64url');
  }

  /** Whether `seal` is the current token's seal of `value`, in constant time. */
  sealed(value: string, seal: string): boolean {
    if (this.expectedHash === undefined) return false;
    const expected = Buffer.from(this.seal(value));
    const given = Buffer.from(seal);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
