import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import {
  keyIdOf,
  MAX_MANIFEST_BYTES,
  MAX_SIGNATURE_BYTES,
  parseManifest,
  parseSignature,
  type Manifest,
} from '../domain/manifest.js';

/**
 * The device-side verifier for Linux boards, on node:crypto only: it checks a signed manifest
 * against the public keys a device trusts, then a firmware's bytes against the manifest. The C
 * verifier (verifier/c/fota_verify.c) does the same on an MCU. See docs/security.md.
 *
 *   const manifest = verifyManifest(manifestBytes, signatureText, [{ publicKey: '9f0c…' }]);
 *   await verifyFirmware(manifest, createReadStream('firmware.bin'));
 */

export type { Manifest } from '../domain/manifest.js';
export { keyIdOf } from '../domain/manifest.js';

/** A key a device trusts: its 32 raw Ed25519 public key bytes in hex (64 digits). */
export interface TrustedKey {
  readonly publicKey: string;
}

/** Why a manifest, a signature or a firmware was refused. */
export class VerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerificationError';
  }
}

const PUBLIC_KEY_HEX = /^[0-9a-fA-F]{64}$/;

/** The raw public key bytes of a trusted key; throws on anything but 64 hex digits. */
export function publicKeyBytes(key: TrustedKey): Buffer {
  if (!PUBLIC_KEY_HEX.test(key.publicKey)) {
    throw new VerificationError('a public key is 32 bytes in hex: 64 hexadecimal digits');
  }
  return Buffer.from(key.publicKey, 'hex');
}

/** The node:crypto key of 32 raw Ed25519 public key bytes. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/**
 * Checks the detached signature of a manifest with the trusted key it names, and that the manifest
 * names that key too. Answers the manifest read; throws a VerificationError otherwise.
 */
export function verifyManifest(
  manifest: Uint8Array | string,
  signature: Uint8Array | string,
  trusted: readonly TrustedKey[],
): Manifest {
  const manifestBytes = typeof manifest === 'string' ? Buffer.from(manifest, 'utf8') : Buffer.from(manifest);
  const signatureBytes = typeof signature === 'string' ? Buffer.from(signature, 'utf8') : Buffer.from(signature);
  if (manifestBytes.length > MAX_MANIFEST_BYTES) {
    throw new VerificationError(`the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
  }
  if (signatureBytes.length > MAX_SIGNATURE_BYTES) {
    throw new VerificationError(`the signature is larger than ${MAX_SIGNATURE_BYTES} bytes`);
  }
  const parsedSignature = parseSignature(signatureBytes.toString('latin1'));
  if (!parsedSignature) throw new VerificationError('the signature is not "ed25519 <key id> <128 hex digits>"');
  const key = trusted.map(publicKeyBytes).find((raw) => keyIdOf(raw) === parsedSignature.keyId);
  if (!key) throw new VerificationError(`the manifest is signed by key ${parsedSignature.keyId}, which is not trusted`);
  if (!verify(null, manifestBytes, ed25519PublicKey(key), parsedSignature.signature)) {
    throw new VerificationError(`the signature by key ${parsedSignature.keyId} does not match the manifest`);
  }
  const parsed = parseManifest(manifestBytes.toString('latin1'));
  if (typeof parsed === 'string') throw new VerificationError(parsed);
  if (parsed.keyId !== parsedSignature.keyId) {
    throw new VerificationError(`the manifest names key ${parsed.keyId}, the signature key ${parsedSignature.keyId}`);
  }
  return parsed;
}

/** Checks a firmware's size and SHA-256 as they were counted while it streamed. */
export function checkFirmwareDigest(manifest: Manifest, firmware: { size: number; sha256: string }): void {
  if (firmware.size !== manifest.size) {
    throw new VerificationError(`the firmware has ${firmware.size} bytes; its manifest says ${manifest.size}`);
  }
  if (firmware.sha256.toLowerCase() !== manifest.sha256) {
    throw new VerificationError(`the firmware's SHA-256 is ${firmware.sha256}; its manifest says ${manifest.sha256}`);
  }
}

/** Streams a firmware's bytes, hashing them, and checks them against a verified manifest. */
export async function verifyFirmware(manifest: Manifest, bytes: AsyncIterable<Uint8Array>): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of bytes) {
    size += chunk.length;
    if (size > manifest.size) break;
    hash.update(chunk);
  }
  checkFirmwareDigest(manifest, { size, sha256: hash.digest('hex') });
}
