import { describe, expect, it } from 'vitest';
import { isDomainError } from '../errors.js';
import { inMemoryRepositories } from '../testing/fakes.js';
import { AdminTokens, hashToken } from './admin-tokens.js';

const configured = 'a-configured-token-0123456789';

function failureCode(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    return isDomainError(error) ? error.code : 'not a domain error';
  }
  return undefined;
}

describe('AdminTokens', () => {
  it('is unavailable before prepare', () => {
    const tokens = new AdminTokens(inMemoryRepositories().settings);
    expect(failureCode(() => tokens.authenticate(configured))).toBe('unavailable');
  });

  it.each<[string, string | undefined, string | undefined]>([
    ['the configured token', configured, undefined],
    ['another token', 'another-token-0123456789', 'unauthenticated'],
    ['the token with a trailing space', `${configured} `, 'unauthenticated'],
    ['an empty token', '', 'unauthenticated'],
    ['no token', undefined, 'unauthenticated'],
  ])('with a configured token, %s gives %s', async (_label, given, code) => {
    const repositories = inMemoryRepositories();
    const tokens = new AdminTokens(repositories.settings);
    expect(await tokens.prepare(configured)).toEqual({ generated: undefined });
    expect(failureCode(() => tokens.authenticate(given))).toBe(code);
    if (code === undefined) expect(tokens.authenticate(given)).toEqual({ kind: 'admin' });
    expect(repositories.tables.settings.size).toBe(0);
  });

  it('generates a token once, keeps only its hash, and accepts it after a restart', async () => {
    const repositories = inMemoryRepositories();
    const first = new AdminTokens(repositories.settings);
    const { generated } = await first.prepare(undefined);
    expect(generated).toMatch(/^fota_[A-Za-z0-9_-]{43}$/);
    expect([...repositories.tables.settings.values()]).toEqual([hashToken(generated!).toString('hex')]);
    expect(first.authenticate(generated)).toEqual({ kind: 'admin' });

    const restarted = new AdminTokens(repositories.settings);
    expect(await restarted.prepare(undefined)).toEqual({ generated: undefined });
    expect(restarted.authenticate(generated)).toEqual({ kind: 'admin' });
    expect(failureCode(() => restarted.authenticate('fota_wrong'))).toBe('unauthenticated');
  });

  it('a configured token wins over a stored one', async () => {
    const repositories = inMemoryRepositories();
    const { generated } = await new AdminTokens(repositories.settings).prepare(undefined);
    const tokens = new AdminTokens(repositories.settings);
    await tokens.prepare(configured);
    expect(tokens.authenticate(configured)).toEqual({ kind: 'admin' });
    expect(failureCode(() => tokens.authenticate(generated))).toBe('unauthenticated');
  });

  it('reset replaces the stored token: the old one stops working after a restart, the new one works', async () => {
    const repositories = inMemoryRepositories();
    const { generated: old } = await new AdminTokens(repositories.settings).prepare(undefined);
    const fresh = await new AdminTokens(repositories.settings).reset();
    expect(fresh).toMatch(/^fota_[A-Za-z0-9_-]{43}$/);
    expect(fresh).not.toBe(old);
    expect([...repositories.tables.settings.values()]).toEqual([hashToken(fresh).toString('hex')]);

    const restarted = new AdminTokens(repositories.settings);
    expect(await restarted.prepare(undefined)).toEqual({ generated: undefined });
    expect(restarted.authenticate(fresh)).toEqual({ kind: 'admin' });
    expect(failureCode(() => restarted.authenticate(old))).toBe('unauthenticated');
  });

  it('seals a value so that it verifies with the same token only, not after a reset or another token', async () => {
    const repositories = inMemoryRepositories();
    const tokens = new AdminTokens(repositories.settings);
    expect(tokens.sealed('value', 'anything')).toBe(false);
    await tokens.prepare(undefined);
    const seal = tokens.seal('value');
    expect(tokens.sealed('value', seal)).toBe(true);
    expect(tokens.sealed('other value', seal)).toBe(false);
    expect(tokens.sealed('value', seal.slice(1))).toBe(false);
    const restarted = new AdminTokens(repositories.settings);
    await restarted.prepare(undefined);
    expect(restarted.sealed('value', seal)).toBe(true);
    await restarted.reset();
    expect(restarted.sealed('value', seal)).toBe(false);
    const other = new AdminTokens(repositories.settings);
    await other.prepare(configured);
    expect(other.sealed('value', seal)).toBe(false);
  });
});
