import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { csrfTokenOf, hashPassword, sessionIdOf, verifyPassword } from './accounts.js';

describe('passwords', () => {
  it('are hashed with scrypt, a random salt and their parameters, and verified', async () => {
    const [one, two] = await Promise.all([hashPassword('a long password'), hashPassword('a long password')]);
    expect(one).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(one).not.toBe(two);
    expect(await verifyPassword('a long password', one)).toBe(true);
    expect(await verifyPassword('a long passwore', one)).toBe(false);
    expect(await verifyPassword('', one)).toBe(false);
  });

  it.each([['plain'], ['bcrypt$x$y'], ['scrypt$16384$8$1$salt'], ['scrypt$3$8$1$c2FsdA$aGFzaA']])(
    'refuses a stored hash it cannot read: %s',
    async (stored) => {
      expect(await verifyPassword('a long password', stored)).toBe(false);
    },
  );
});

describe('csrfTokenOf', () => {
  it('is the same for one session and differs between sessions, and is not the cookie value', () => {
    expect(csrfTokenOf('session-a')).toBe(csrfTokenOf('session-a'));
    expect(csrfTokenOf('session-a')).not.toBe(csrfTokenOf('session-b'));
    expect(csrfTokenOf('session-a')).not.toContain('session-a');
  });
});

describe('sessionIdOf', () => {
  it('names one session alike each time, and is neither its cookie, its CSRF token nor its stored hash', () => {
    expect(sessionIdOf('session-a')).toBe(sessionIdOf('session-a'));
    expect(sessionIdOf('session-a')).not.toBe(sessionIdOf('session-b'));
    expect(sessionIdOf('session-a')).not.toBe(csrfTokenOf('session-a'));
    const stored = createHash('sha256').update('session-a').digest();
    expect(Buffer.from(sessionIdOf('session-a'), 'base64url').equals(stored)).toBe(false);
  });
});
