import type { Socket } from 'node:net';

/**
 * Reads the fixed header of every MQTT packet in a client's byte stream (a type byte, then the
 * remaining length as a varint of one to four bytes) and skips the body, without keeping a byte. A
 * packet that declares more than `maxPacketBytes` in all, or a length varint longer than MQTT's four
 * bytes, stops the stream: the parser behind it would otherwise buffer whatever a header declares
 * (up to 256 MiB), before CONNECT too.
 */
export class PacketSizeGuard {
  private phase: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(readonly maxPacketBytes: number) {}

  /** False once a header declares too large a packet or is malformed; the stream must be dropped. */
  feed(chunk: Buffer): boolean {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.phase === 'type') {
        offset++;
        this.phase = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.phase === 'length') {
        const byte = chunk[offset++]!;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (1 + this.lengthBytes + this.length > this.maxPacketBytes) return false;
        if (byte & 0x80) {
          if (this.lengthBytes === 4) return false;
        } else {
          this.bodyLeft = this.length;
          this.phase = this.bodyLeft > 0 ? 'body' : 'type';
        }
      } else {
        const skipped = Math.min(this.bodyLeft, chunk.length - offset);
        offset += skipped;
        this.bodyLeft -= skipped;
        if (this.bodyLeft === 0) this.phase = 'type';
      }
    }
    return true;
  }
}

/**
 * Puts the guard in front of the broker's parser: aedes takes a client's bytes with
 * `socket.read()`, so every chunk it gets has passed the guard first. A chunk that fails it is never
 * handed over, and the socket is destroyed at once; `onRefused` says why, for the log.
 */
export function guardPacketSize(socket: Socket, maxPacketBytes: number, onRefused: () => void): void {
  const guard = new PacketSizeGuard(maxPacketBytes);
  const read = socket.read.bind(socket);
  socket.read = (size?: number) => {
    const chunk: unknown = read(size);
    if (!Buffer.isBuffer(chunk) || guard.feed(chunk)) return chunk;
    socket.destroy();
    onRefused();
    return null;
  };
}
