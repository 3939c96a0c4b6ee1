import { connect, type Socket } from 'node:net';

/** A device on the MCS TCP command server, as a raw socket that records every byte it receives. */
export class TcpDevice {
  readonly socket: Socket;
  private received = Buffer.alloc(0);
  private closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  /** `localAddress`: the source address to connect from (any 127.x.y.z on Linux). */
  static async connect(port: number, localAddress?: string): Promise<TcpDevice> {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new TcpDevice(socket);
  }

  send(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  text(): string {
    return this.received.toString('latin1');
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Waits until the received bytes contain `needle`, or fails with what came. */
  async waitFor(needle: string | RegExp, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = this.text();
      if (typeof needle === 'string' ? text.includes(needle) : needle.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`did not receive ${String(needle)}; got ${JSON.stringify(text)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
