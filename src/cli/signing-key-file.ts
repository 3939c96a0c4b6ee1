import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { keyIdOf } from '../contract/firmware-verifier.js';
import type { HttpClient } from '../contract/http-client.js';
import type { FirmwareSignatureBody } from '../contract/schemas.js';
import { CliError } from './cli-error.js';

/** An Ed25519 private key from a PEM file (`openssl genpkey -algorithm ed25519 -out key.pem`). */
export interface SigningKeyFile {
  readonly privateKey: KeyObject;
  /** 32 raw bytes in hex. */
  readonly publicKey: string;
  readonly keyId: string;
}

export async function readSigningKeyFile(path: string): Promise<SigningKeyFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the key file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch {
    throw new CliError(
      `${path} holds no private key in PEM; make one with: openssl genpkey -algorithm ed25519 -out ${path}`,
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new CliError(`${path} holds a ${privateKey.asymmetricKeyType ?? 'unknown'} key; signing keys are Ed25519`);
  }
  const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  return { privateKey, publicKey: raw.toString('hex'), keyId: keyIdOf(raw) };
}

/**
 * Signs a firmware here, with a key that never reaches the server: asks for the manifest the key
 * signs, signs it, and sends only the signature, which the server checks before it keeps it.
 */
export async function signHere(client: HttpClient, fwId: string, key: SigningKeyFile): Promise<FirmwareSignatureBody> {
  const { manifest } = await client.manifestToSign(fwId, key.keyId);
  const signature = sign(null, Buffer.from(manifest, 'utf8'), key.privateKey).toString('hex');
  return client.signFirmware(fwId, `ed25519 ${key.keyId} ${signature}\n`);
}
