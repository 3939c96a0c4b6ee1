import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { DomainError, invalid } from './errors.js';

/**
 * Ed25519 keys and their sealing at rest: a private key is kept only as AES-256-GCM under the
 * key-encryption key (FOTA_SIGNING_KEK), with the prototype's id as associated data, so a sealed
 * key copied to another prototype's row does not open.
 */

/** The 32 raw bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const x = key.export({ format: 'jwk' }).x;
  if (key.asymmetricKeyType !== 'ed25519' || x === undefined) throw invalid('the key is not an Ed25519 key');
  return Buffer.from(x, 'base64url');
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/** A new key pair: the raw public key and the private key as PKCS#8 DER. */
export function newKeyPair(): { publicKey: Buffer; privateKey: Buffer } {
  const pair = generateKeyPairSync('ed25519');
  return {
    publicKey: rawPublicKey(pair.publicKey),
    privateKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
  };
}

/**
 * Reads a public key as an API caller gives it: 64 hex digits (the raw key) or a PEM
 * `PUBLIC KEY`. A private key is refused: only its public half may reach the server.
 */
export function readPublicKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/PRIVATE KEY/.test(trimmed)) throw invalid('send the public key only: the private key stays with its owner');
  let key: KeyObject;
  try {
    key = createPublicKey(trimmed);
  } catch {
    throw invalid('publicKey must be 64 hex digits (the raw Ed25519 key) or a PEM public key');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw invalid(`publicKey is a ${key.asymmetricKeyType ?? 'unknown'} key; signing keys are Ed25519`);
  }
  return rawPublicKey(key);
}

/** The PEM (SPKI) form of a raw public key, for tools such as openssl. */
export function publicKeyPem(raw: Uint8Array): string {
  return publicKeyFromRaw(raw).export({ format: 'pem', type: 'spki' }).toString();
}

export function signBytes(privateKeyDer: Buffer, bytes: Uint8Array): Buffer {
  return sign(null, bytes, createPrivateKey({ key: privateKeyDer, format: 'der', type: 'pkcs8' }));
}

export function verifyBytes(publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array): boolean {
  return verify(null, bytes, publicKeyFromRaw(publicKey), signature);
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** `v1.<base64 of iv, tag, ciphertext>`. */
export function sealPrivateKey(kek: Buffer, prototypeId: string, privateKeyDer: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(prototypeId, 'utf8'));
  const sealed = Buffer.concat([cipher.update(privateKeyDer), cipher.final()]);
  return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')}`;
}

export function openPrivateKey(kek: Buffer, prototypeId: string, sealed: string): Buffer {
  const bytes = sealed.startsWith(`${VERSION}.`) ? Buffer.from(sealed.slice(VERSION.length + 1), 'base64') : undefined;
  if (!bytes || bytes.length <= IV_BYTES + TAG_BYTES) {
    throw new DomainError('unavailable', 'a sealed signing key in the database is damaged');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(prototypeId, 'utf8'));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch (error) {
    throw new DomainError(
      'unavailable',
      `the signing key of prototype ${prototypeId} does not open with FOTA_SIGNING_KEK: it was sealed with another key-encryption key`,
      { cause: error },
    );
  }
}
