import { connect, type Socket } from 'node:net';

/**
 * A hostile or slow HTTP client on a raw socket: sends the head, then drips the rest a few bytes at
 * a time, and records what comes back and when the server closes the connection.
 */
export class SlowClient {
  readonly socket: Socket;
  private received = '';
  private closedAt: number | undefined;
  private drip: NodeJS.Timeout | undefined;
  readonly openedAt = Date.now();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => (this.received += chunk.toString('latin1')));
    socket.on('close', () => {
      this.closedAt = Date.now();
      clearInterval(this.drip);
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<SlowClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new SlowClient(socket);
  }

  send(bytes: string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Sends `bytes` every `everyMs`, forever, until the connection closes. */
  dripForever(bytes: string, everyMs: number): void {
    this.drip = setInterval(() => this.send(bytes), everyMs);
  }

  /** What the server sent so far. */
  text(): string {
    return this.received;
  }

  /** The status of the first response, if one came. */
  status(): number | undefined {
    const match = /^HTTP\/1\.1 (\d{3})/.exec(this.received);
    return match ? Number(match[1]) : undefined;
  }

  isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  close(): void {
    clearInterval(this.drip);
    this.socket.destroy();
  }
}
