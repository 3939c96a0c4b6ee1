import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

/**
 * The LinkIt Connect 7681 cipher (protocol spec §2): AES-128-CBC with PKCS#7 padding, the 16 raw
 * bytes of the device key, and one fixed IV for every message. Each discovery token and each frame
 * is encrypted on its own from that IV; a firmware image is one continuous stream from it.
 */
export const FIXED_IV = Buffer.from('a3FhU81Cwh63Pv3F', 'ascii');
/** The key between the phone app and the board on the LAN (§2.2); not used by this server. */
export const APP_KEY = Buffer.from('MTK0000020140815', 'ascii');
export const AES_BLOCK = 16;

/** The AES key of a device: its 16 ASCII key characters as they are; undefined for any other key. */
export function deviceKeyBytes(key: string): Buffer | undefined {
  const bytes = Buffer.from(key, 'latin1');
  if (bytes.length !== 16 || /[^\x20-\x7e]/.test(key)) return undefined;
  return bytes;
}

/** AES-128-CBC-PKCS#7 from the fixed IV; the length is always 16·floor(n/16)+16. */
export function encrypt(key: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-cbc', key, FIXED_IV);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

/**
 * Decrypts from the fixed IV and checks the PKCS#7 padding strictly (every pad byte equal, 1–16):
 * undefined for a length that is not a positive multiple of 16 or a bad pad. It never throws.
 */
export function decrypt(key: Buffer, ciphertext: Buffer): Buffer | undefined {
  if (ciphertext.length === 0 || ciphertext.length % AES_BLOCK !== 0) return undefined;
  const decipher = createDecipheriv('aes-128-cbc', key, FIXED_IV);
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  const pad = plain[plain.length - 1]!;
  if (pad < 1 || pad > AES_BLOCK) return undefined;
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) return undefined;
  return plain.subarray(0, plain.length - pad);
}

/** What a FOTA_START_UPDATE announces and what is served for one device's image (§6.4). */
export interface EncryptedImage {
  /** The E bytes to serve: the whole plaintext as one CBC stream. */
  readonly body: Buffer;
  /** ImageLen: P, or E when E is a multiple of 128 (the padding block is then never stripped). */
  readonly imageLength: number;
  /** MD5 of what the board hashes: the plaintext, with the padding when ImageLen is E. */
  readonly md5: Buffer;
}

/** Encrypts an image for one device's key and computes ImageLen and ImageMD5 by the P/E rule. */
export function encryptImage(key: Buffer, plaintext: Buffer): EncryptedImage {
  const body = encrypt(key, plaintext);
  const padLength = body.length - plaintext.length;
  if (body.length % 128 !== 0) {
    return { body, imageLength: plaintext.length, md5: createHash('md5').update(plaintext).digest() };
  }
  const md5 = createHash('md5').update(plaintext).update(Buffer.alloc(padLength, padLength)).digest();
  return { body, imageLength: body.length, md5 };
}

/** Lowercase hex, two characters a byte, as the board writes it. */
export const toHex = (bytes: Buffer): string => bytes.toString('hex');

/** Hex of any case to bytes; undefined unless it is an even count of hex digits only. */
export function fromHex(text: string): Buffer | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}
