import { CLEAR_BYTES, MAGIC, MAX_FRAME_BYTES, clearPrefix, decodeFrame, type Frame } from './frames.js';

/** Bytes held for a connection at most, before it proved its device or while a frame is incomplete. */
export const MAX_HELD_BYTES = 4 * MAX_FRAME_BYTES;

/**
 * Splits a 7681 session's byte stream into frames (protocol spec §5.2). There is no length field:
 * a frame runs from its 12-byte clear prefix (magic and device id) to the next prefix, or to the
 * end of what arrived when that decrypts. It refuses, by dropping and counting them as garbage:
 * bytes before a magic, a frame that does not decrypt with the device's key or names another
 * device, and an incomplete tail longer than MAX_FRAME_BYTES (140). The caller closes a connection
 * whose garbage grows too large. It never throws.
 */
export class FrameReader {
  private buffer = Buffer.alloc(0);
  /** Bytes dropped since the last frame that decoded. */
  garbageBytes = 0;

  /** Appends what arrived; false when more than MAX_HELD_BYTES would be held (nothing is kept then). */
  feed(chunk: Buffer): boolean {
    if (this.buffer.length + chunk.length > MAX_HELD_BYTES) {
      this.garbageBytes += this.buffer.length + chunk.length;
      this.buffer = Buffer.alloc(0);
      return false;
    }
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    return true;
  }

  get heldBytes(): number {
    return this.buffer.length;
  }

  /**
   * The device id of the first frame's clear prefix, once 12 bytes after a magic arrived (bytes
   * before the first magic are dropped); undefined until then. An id of 8 bytes other than
   * printable ASCII is dropped as garbage.
   */
  firstDeviceId(): string | undefined {
    for (;;) {
      this.skipToMagic();
      if (this.buffer.length < CLEAR_BYTES) return undefined;
      const id = this.buffer.subarray(4, CLEAR_BYTES);
      if (id.every((byte) => byte >= 0x21 && byte <= 0x7e)) return id.toString('latin1');
      this.drop(1);
    }
  }

  /** The next whole frame of `deviceId` that decrypts with `key`, or undefined until more arrives. */
  next(deviceId: string, key: Buffer): Frame | undefined {
    const prefix = clearPrefix(deviceId);
    for (;;) {
      this.skipToMagic();
      if (this.buffer.length < CLEAR_BYTES + 16) return undefined;
      const end = this.buffer.indexOf(prefix, 1);
      if (end !== -1) {
        // Longest first: junk may follow a frame in the same region, a shorter cut rarely decodes by chance.
        for (let length = Math.min(end, MAX_FRAME_BYTES); length >= CLEAR_BYTES + 16; length--) {
          if ((length - CLEAR_BYTES) % 16 !== 0) continue;
          const frame = decodeFrame(key, deviceId, this.buffer.subarray(0, length));
          if (!frame) continue;
          this.garbageBytes = 0;
          this.drop(length, true);
          return frame;
        }
        this.drop(end);
        continue;
      }
      // The tail: a whole frame when it decrypts; otherwise wait for the rest, up to one frame's size.
      const frame = decodeFrame(key, deviceId, this.buffer);
      if (frame) {
        this.garbageBytes = 0;
        this.drop(this.buffer.length, true);
        return frame;
      }
      if (this.buffer.length <= MAX_FRAME_BYTES) return undefined;
      this.drop(this.buffer.length);
    }
  }

  /** Drops bytes up to the first magic; keeps a last 3 bytes that may start one. */
  private skipToMagic(): void {
    const at = this.buffer.indexOf(MAGIC);
    if (at === 0) return;
    this.drop(at === -1 ? Math.max(0, this.buffer.length - (MAGIC.length - 1)) : at);
  }

  private drop(count: number, consumed = false): void {
    if (count === 0) return;
    if (!consumed) this.garbageBytes += count;
    this.buffer = this.buffer.subarray(count);
  }
}
