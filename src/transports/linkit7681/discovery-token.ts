import { decrypt, encrypt, fromHex, toHex } from './crypto.js';

/**
 * The hex tokens of the 7681 discovery over HTTP (protocol spec §4). The board sends
 * `<message>,1,2` zero-filled to 31 bytes, encrypted (32 bytes, the last pad byte 01) and in hex;
 * the server answers `<a.b.c.d>,<port>,` encrypted, in hex.
 */
export const REQUEST_TOKEN_BYTES = 31;
/** The board's answer buffer takes at most 48 bytes of ciphertext, 96 hex characters. */
export const MAX_ANSWER_CIPHER_BYTES = 48;

/** The request token of `message` as the board builds it (`connect`: message = the device id). */
export function requestToken(key: Buffer, message: string): string {
  const plain = Buffer.alloc(REQUEST_TOKEN_BYTES);
  Buffer.from(`${message},1,2`, 'latin1').copy(plain, 0, 0, REQUEST_TOKEN_BYTES);
  return toHex(encrypt(key, plain));
}

/** The text of a request token up to its first NUL; undefined unless it is 64 hex digits that decrypt. */
export function readRequestToken(key: Buffer, hex: string): string | undefined {
  if (hex.length !== 64) return undefined;
  const cipher = fromHex(hex);
  if (!cipher) return undefined;
  const plain = decrypt(key, cipher);
  if (!plain || plain.length !== REQUEST_TOKEN_BYTES) return undefined;
  const end = plain.indexOf(0);
  return plain.subarray(0, end === -1 ? plain.length : end).toString('latin1');
}

/**
 * Whether a `connect` token proves the device: it decrypts with the device's key and reads
 * `<deviceId>,…` (the board sends `<deviceId>,1,2`; other trailing values are tolerated). The pad
 * alone would pass one random token in 256: the id inside is what proves the key.
 */
export function provesDevice(key: Buffer, deviceId: string, hex: string): boolean {
  const text = readRequestToken(key, hex);
  return text !== undefined && text.startsWith(`${deviceId},`);
}

/** The `connect` answer: where the command server is, encrypted; throws when the board cannot read it. */
export function connectAnswer(key: Buffer, ip: string, port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 999) {
    throw new RangeError(`the 7681 board copies at most three port digits: the port must be 1 to 999, not ${port}`);
  }
  const cipher = encrypt(key, Buffer.from(`${ip},${port},`, 'latin1'));
  if (cipher.length > MAX_ANSWER_CIPHER_BYTES) throw new RangeError(`"${ip}" is too long for the board's buffer`);
  return toHex(cipher);
}

/** The address in a `connect` answer, as the board parses it; undefined when the board would refuse it. */
export function readConnectAnswer(key: Buffer, hex: string): { ip: string; port: number } | undefined {
  const cipher = fromHex(hex);
  if (!cipher || cipher.length > MAX_ANSWER_CIPHER_BYTES) return undefined;
  const plain = decrypt(key, cipher);
  const match = plain && /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}),(\d{1,3}),/.exec(plain.toString('latin1'));
  if (!match) return undefined;
  return { ip: match[1]!, port: Number(match[2]) };
}
