import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isDomainError } from './errors.js';
import {
  newKeyPair,
  openPrivateKey,
  publicKeyPem,
  readPublicKey,
  sealPrivateKey,
  signBytes,
  verifyBytes,
} from './signing-keys.js';

describe('sealed signing keys', () => {
  const kek = randomBytes(32);
  const pair = newKeyPair();

  it('open with the key-encryption key and the prototype they were sealed for, and sign', () => {
    const sealed = sealPrivateKey(kek, 'P1', pair.privateKey);
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain(pair.privateKey.toString('base64'));
    const opened = openPrivateKey(kek, 'P1', sealed);
    const signature = signBytes(opened, Buffer.from('manifest'));
    expect(verifyBytes(pair.publicKey, Buffer.from('manifest'), signature)).toBe(true);
    expect(verifyBytes(pair.publicKey, Buffer.from('manifesT'), signature)).toBe(false);
  });

  it('do not open with another key-encryption key, for another prototype, or damaged', () => {
    const sealed = sealPrivateKey(kek, 'P1', pair.privateKey);
    const refusal = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(isDomainError(error, 'unavailable')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(refusal(() => openPrivateKey(randomBytes(32), 'P1', sealed))).toContain('FOTA_SIGNING_KEK');
    expect(refusal(() => openPrivateKey(kek, 'P2', sealed))).toContain('FOTA_SIGNING_KEK');
    const bytes = Buffer.from(sealed.slice(3), 'base64');
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    expect(refusal(() => openPrivateKey(kek, 'P1', `v1.${bytes.toString('base64')}`))).toContain('FOTA_SIGNING_KEK');
    expect(refusal(() => openPrivateKey(kek, 'P1', 'v1.AAAA'))).toContain('damaged');
  });
});

describe('a public key as a caller gives it', () => {
  const pair = newKeyPair();

  it('is read from 64 hex digits or a PEM public key', () => {
    expect(readPublicKey(pair.publicKey.toString('hex').toUpperCase())).toEqual(pair.publicKey);
    expect(readPublicKey(publicKeyPem(pair.publicKey))).toEqual(pair.publicKey);
  });

  it.each([
    [
      'a private key',
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----',
      /public key only/,
    ],
    ['63 hex digits', 'a'.repeat(63), /64 hex digits/],
    ['text', 'hello', /64 hex digits/],
  ])('is refused as %s', (_, text, message) => {
    expect(() => readPublicKey(text)).toThrow(message);
  });

  it('is refused when it is not Ed25519', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' });
    expect(() => readPublicKey(rsa.toString())).toThrow(/ec key; signing keys are Ed25519/);
  });
});
