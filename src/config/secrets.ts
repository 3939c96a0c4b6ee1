import type { Reader } from './readers.js';

/** The administrator token and the key that seals the signing keys. */
export interface SecretConfig {
  readonly adminToken: string | undefined;
  /** The key-encryption key that seals the signing keys the server holds (32 bytes); undefined: none. */
  readonly signingKek: Buffer | undefined;
}

export const secretVariables = [
  [
    'FOTA_ADMIN_TOKEN',
    '(generated)',
    'administrator bearer token; when unset, one is generated on the first start and printed once',
  ],
  [
    'FOTA_SIGNING_KEK',
    '(none: no server-held signing keys)',
    'key-encryption key sealing the Ed25519 signing keys the server creates: 32 random bytes in base64 (`openssl rand -base64 32`); without it keys are only registered and firmware signed with the CLI',
  ],
] as const;

export function readSecrets(reader: Reader): SecretConfig {
  const adminToken = reader.text('FOTA_ADMIN_TOKEN', '') || undefined;
  if (adminToken !== undefined && (adminToken.length < 16 || /\s/.test(adminToken))) {
    reader.problem('FOTA_ADMIN_TOKEN must be at least 16 characters without whitespace');
  }

  const kekText = reader.text('FOTA_SIGNING_KEK', '').trim();
  const signingKek = kekText === '' ? undefined : Buffer.from(kekText, 'base64');
  if (signingKek !== undefined && (!/^[A-Za-z0-9+/]+={0,2}$/.test(kekText) || signingKek.length !== 32)) {
    reader.problem('FOTA_SIGNING_KEK must be 32 bytes in base64 (44 characters; `openssl rand -base64 32`)');
  }
  return { adminToken, signingKek };
}
