import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceKeyBytes } from './crypto.js';
import { provesDevice, requestToken } from './discovery-token.js';
import { FrameReader, MAX_HELD_BYTES } from './frame-reader.js';
import { MAGIC, MAX_FRAME_BYTES, decodeFrame, encodeFrame, fotaInfo, keepAlive, type Frame } from './frames.js';

const ID = 'Dq1w2e3r';
const KEY = deviceKeyBytes('abcdefghijklmnop')!;
const OTHER_KEY = deviceKeyBytes('ponmlkjihgfedcba')!;

function readAll(reader: FrameReader, key = KEY): Frame[] {
  const frames: Frame[] = [];
  for (let frame = reader.next(ID, key); frame; frame = reader.next(ID, key)) frames.push(frame);
  return frames;
}

describe('FrameReader', () => {
  it('splits coalesced frames, drops garbage between them and waits for a split frame', () => {
    const a = encodeFrame(KEY, keepAlive(ID, 0));
    const b = encodeFrame(KEY, fotaInfo(ID, 1, { bootMode: 0, major: 1, minor: 60 }));
    const reader = new FrameReader();
    reader.feed(Buffer.concat([Buffer.from('junk'), a, Buffer.alloc(64), b.subarray(0, 20)]));
    expect(reader.firstDeviceId()).toBe(ID);
    expect(readAll(reader)).toEqual([keepAlive(ID, 0)]);
    expect(reader.garbageBytes).toBe(64);
    reader.feed(b.subarray(20));
    expect(readAll(reader)).toEqual([fotaInfo(ID, 1, { bootMode: 0, major: 1, minor: 60 })]);
    expect(reader.garbageBytes).toBe(0);
    expect(reader.heldBytes).toBe(0);
  });

  it(`drops an incomplete tail past ${MAX_FRAME_BYTES} bytes and refuses to hold more than ${MAX_HELD_BYTES}`, () => {
    const reader = new FrameReader();
    reader.feed(Buffer.concat([MAGIC, Buffer.from(ID), Buffer.alloc(MAX_FRAME_BYTES)]));
    expect(readAll(reader)).toEqual([]);
    expect(reader.heldBytes).toBeLessThan(4);
    expect(reader.garbageBytes).toBeGreaterThan(MAX_FRAME_BYTES);
    expect(reader.feed(Buffer.alloc(MAX_HELD_BYTES + 1))).toBe(false);
    expect(reader.heldBytes).toBe(0);
  });

  it('never throws and never decodes a frame from arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
        const reader = new FrameReader();
        for (const chunk of chunks) {
          reader.feed(Buffer.from(chunk));
          reader.firstDeviceId();
          expect(readAll(reader)).toEqual([]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never decodes a frame behind the right clear prefix without the key (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.uint8Array({ minLength: 128, maxLength: 128 }),
        (blocks, noise) => {
          const wire = Buffer.concat([MAGIC, Buffer.from(ID), Buffer.from(noise).subarray(0, blocks * 16)]);
          expect(decodeFrame(KEY, ID, wire)).toBeUndefined();
          const reader = new FrameReader();
          reader.feed(wire);
          expect(readAll(reader)).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never decodes a real frame with another key, nor a token of another key (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 60 }), (commandId, payload) => {
        const frame: Frame = {
          ...keepAlive(ID, commandId),
          data: { type: 2, length: payload.length, payload: Buffer.from(payload) },
        };
        const wire = encodeFrame(KEY, frame);
        expect(decodeFrame(KEY, ID, wire)).toEqual(frame);
        expect(decodeFrame(OTHER_KEY, ID, wire)).toBeUndefined();
        expect(provesDevice(OTHER_KEY, ID, wire.subarray(12, 44).toString('hex'))).toBe(false);
        expect(provesDevice(OTHER_KEY, ID, requestToken(KEY, ID))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('finds every frame however the stream is cut into chunks (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 10 }),
        (ids, cuts) => {
          const frames = ids.map((id) => fotaInfo(ID, id, { bootMode: 0, major: 1, minor: id & 0xff }));
          const stream = Buffer.concat(frames.map((frame) => encodeFrame(KEY, frame)));
          const reader = new FrameReader();
          const seen: Frame[] = [];
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const size = cuts[i % cuts.length]!;
            reader.feed(stream.subarray(at, at + size));
            at += size;
            seen.push(...readAll(reader));
          }
          // Each frame is 44 bytes: a cut inside one can only delay it, never lose or forge one.
          expect(seen).toEqual(frames);
        },
      ),
      { numRuns: 300 },
    );
  });
});
