import type { Socket } from 'node:net';

/**
 * One budget for the device sockets of every transport (TCP command server, MQTT broker). A process
 * may open only so many files (20 000 here); kept below that, device connections can never take the
 * descriptors the HTTP API, the database and firmware files need.
 *
 * Only identified devices (a TCP heartbeat or an MQTT subscription or publish with a valid key)
 * hold a lasting place. A socket starts unidentified; unidentified sockets may hold at most
 * `unidentifiedLimit` places, and they are the first to go: a newcomer that finds the budget or the
 * unidentified share full takes the place of the oldest unidentified socket, which is closed. Only
 * when every place is held by an identified device is the newcomer itself closed, and it retries as
 * real clients do. So sockets that connect and never identify cannot keep a device out.
 */
export class SocketBudget {
  /** Unidentified sockets, oldest first. */
  private readonly unidentified = new Set<Socket>();
  private readonly identifiedSockets = new WeakSet<Socket>();
  private identifiedCount = 0;
  readonly unidentifiedLimit: number;

  constructor(
    readonly limit: number,
    unidentifiedLimit: number = limit,
  ) {
    this.unidentifiedLimit = Math.max(1, Math.min(limit, unidentifiedLimit));
  }

  /** Counts the socket until it closes, or destroys it when every place is held by a device. */
  admit(socket: Socket): boolean {
    if (this.inUse() >= this.limit || this.unidentified.size >= this.unidentifiedLimit) {
      const oldest = this.unidentified.values().next();
      if (oldest.done) {
        socket.destroy();
        return false;
      }
      this.unidentified.delete(oldest.value);
      oldest.value.destroy();
    }
    this.unidentified.add(socket);
    socket.once('close', () => {
      if (this.unidentified.delete(socket)) return;
      if (this.identifiedSockets.has(socket)) {
        this.identifiedSockets.delete(socket);
        this.identifiedCount--;
      }
    });
    return true;
  }

  /** The socket proved a device: it keeps its place until it closes. */
  identified(socket: Socket): void {
    if (!this.unidentified.delete(socket)) return;
    this.identifiedSockets.add(socket);
    this.identifiedCount++;
  }

  inUse(): number {
    return this.unidentified.size + this.identifiedCount;
  }

  /** Sockets that have not proved a device yet. */
  unidentifiedInUse(): number {
    return this.unidentified.size;
  }
}
