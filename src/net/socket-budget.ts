import type { Socket } from 'node:net';

/**
 * One budget for the device sockets of every transport (TCP command server, MQTT broker). A process
 * may open only so many files (20 000 here); kept below that, device connections can never take the
 * descriptors the HTTP API, the database and firmware files need. Past the budget, a new device
 * socket is closed at once, and the device retries as real clients do.
 */
export class SocketBudget {
  private open = 0;

  constructor(readonly limit: number) {}

  /** Counts the socket until it closes, or destroys it when the budget is spent. */
  admit(socket: Socket): boolean {
    if (this.open >= this.limit) {
      socket.destroy();
      return false;
    }
    this.open++;
    socket.once('close', () => this.open--);
    return true;
  }

  inUse(): number {
    return this.open;
  }
}
