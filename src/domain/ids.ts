import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// 256 - (256 % 62) = 248: bytes at or above it are rejected so every letter is equally likely.
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

/** Random bytes from node:crypto, drawn a few KiB at a time: a push asks for 10,000 tokens at once. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

function randomByte(): number {
  if (used === pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  return pool[used++]!;
}

/** Random letters and digits from node:crypto, without modulo bias. Each byte is used once. */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < UNBIASED_LIMIT) out += ALPHABET[byte % ALPHABET.length];
  }
  return out;
}

/** The MCS id shapes: real clients parse at fixed offsets, so the lengths are part of the protocol. */
export const idShapes = {
  prototype: /^P[A-Za-z0-9]{11}$/,
  device: /^D[A-Za-z0-9]{7}$/,
  firmware: /^F[A-Za-z0-9]{11}$/,
  deviceKey: /^[A-Za-z0-9]{16}$/,
} as const;

export const newPrototypeId = (): string => `P${randomAlphanumeric(11)}`;
export const newDeviceId = (): string => `D${randomAlphanumeric(7)}`;
export const newFirmwareId = (): string => `F${randomAlphanumeric(11)}`;
export const newDeviceKey = (): string => randomAlphanumeric(16);

export const isPrototypeId = (value: string): boolean => idShapes.prototype.test(value);
export const isDeviceId = (value: string): boolean => idShapes.device.test(value);
export const isFirmwareId = (value: string): boolean => idShapes.firmware.test(value);
export const isDeviceKey = (value: string): boolean => idShapes.deviceKey.test(value);
