import { describe, expect, it } from 'vitest';
import { PacketSizeGuard } from './packet-size-guard.js';

/** A packet's fixed header for this remaining length: a PUBLISH type byte and the varint. */
function header(remaining: number): Buffer {
  const bytes = [0x30];
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    bytes.push(byte);
  } while (remaining > 0);
  return Buffer.from(bytes);
}

const packet = (remaining: number): Buffer => Buffer.concat([header(remaining), Buffer.alloc(remaining, 0x61)]);

describe('PacketSizeGuard', () => {
  it.each([
    ['an empty packet (PINGREQ)', Buffer.from([0xc0, 0x00]), true],
    ['a packet of exactly the limit', packet(1024 - 3), true],
    ['a packet one byte over the limit', header(1024 - 2), false],
    ['a header declaring 100 MiB, with no body yet', header(100 * 1024 * 1024), false],
    ['a length varint of five bytes', Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]), false],
  ])('%s: %s', (_what, bytes, accepted) => {
    expect(new PacketSizeGuard(1024).feed(bytes)).toBe(accepted);
  });

  it('follows packets across chunks, one byte at a time too', () => {
    const stream = Buffer.concat([packet(10), packet(500), Buffer.from([0xc0, 0x00]), packet(1000)]);
    const guard = new PacketSizeGuard(1024);
    for (let i = 0; i < stream.length; i++) expect(guard.feed(stream.subarray(i, i + 1))).toBe(true);
    expect(guard.feed(header(5000))).toBe(false);
  });

  it('refuses the large header as soon as its first length bytes arrive', () => {
    const guard = new PacketSizeGuard(1024);
    expect(guard.feed(Buffer.concat([packet(3), Buffer.from([0x30])]))).toBe(true);
    // 0xff carries 127, with more to come: already past 1 KiB once the second byte says at least 128 × 127.
    expect(guard.feed(Buffer.from([0xff]))).toBe(true);
    expect(guard.feed(Buffer.from([0xff]))).toBe(false);
  });
});
