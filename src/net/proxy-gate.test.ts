import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { peerAddress, peerLabel, proxiedBy } from './peer.js';
import { acceptProxyHeaders } from './proxy-gate.js';
import { TrustedProxies } from './trusted-proxies.js';

/**
 * The gate in front of a real loopback listener whose handler records what it gets: the socket's
 * peer and every byte it reads, as a session would.
 */
interface Accepted {
  readonly peer: string;
  readonly balancer: string | undefined;
  bytes: Buffer;
  closed: boolean;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.close();
    await once(server, 'close');
  }
});

async function gated(trusted: string, headerTimeoutMs = 5000) {
  const accepted: Accepted[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const server = createServer((socket: Socket) => {
    const entry: Accepted = {
      peer: peerLabel(socket),
      balancer: proxiedBy(socket),
      bytes: Buffer.alloc(0),
      closed: false,
    };
    expect(peerAddress(socket)).toBe(socket.remoteAddress);
    accepted.push(entry);
    socket.on('data', (chunk: Buffer) => (entry.bytes = Buffer.concat([entry.bytes, chunk])));
    socket.on('close', () => (entry.closed = true));
  });
  acceptProxyHeaders(server, {
    trusted: TrustedProxies.parse(trusted),
    headerTimeoutMs,
    logger,
    listener: 'test',
    screenDirect: true,
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, accepted, logs };
}

async function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
};

describe('acceptProxyHeaders', () => {
  it('does nothing with no trusted proxy: the handler gets the socket and its bytes as they come', async () => {
    const { port, accepted } = await gated('');
    const socket = await open(port);
    socket.write('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n');
    await until(() => accepted[0]?.bytes.length === 32);
    expect(accepted[0]!.peer).toMatch(/^127\.0\.0\.1:/);
    socket.destroy();
  });

  it('hands over the header’s source, the balancer kept aside, and every byte after the header in order', async () => {
    const { port, accepted } = await gated('127.0.0.1');
    const socket = await open(port);
    socket.write('PROXY TCP4 203.0.113.7 10.0.0.11 5555 4443\r\nfirst');
    await until(() => accepted.length === 1 && accepted[0]!.bytes.toString() === 'first');
    socket.write(' second');
    await until(() => accepted[0]!.bytes.toString() === 'first second');
    expect(accepted[0]!.peer).toBe('203.0.113.7:5555');
    expect(accepted[0]!.balancer).toBe('127.0.0.1');
    socket.destroy();
  });

  it('logs and closes a connection that ends inside the header, and one that ends before any byte at debug', async () => {
    const { port, accepted, logs } = await gated('127.0.0.1');
    const inside = await open(port);
    inside.end('PROXY TCP4 203.0.113.7');
    await once(inside, 'close');
    const silent = await open(port);
    silent.end();
    await once(silent, 'close');
    await until(() => logs.some((line) => line['msg'] === 'closed before a PROXY header'));
    expect(logs.find((line) => line['reason'] === 'the connection ended inside the PROXY header')).toMatchObject({
      level: 30,
      listener: 'test',
    });
    expect(accepted).toEqual([]);
  });

  it('hands a direct connection over at once, holds a possible signature start, and delivers it at the end', async () => {
    const { port, accepted } = await gated('127.0.0.9');
    const socket = await open(port);
    await until(() => accepted.length === 1);
    socket.end('\r\n');
    await until(() => accepted[0]!.closed);
    expect(accepted[0]!.bytes.toString()).toBe('\r\n');
  });

  it('destroys a direct connection whose first bytes, over several chunks, are a v2 signature', async () => {
    const { port, accepted, logs } = await gated('127.0.0.9');
    const socket = await open(port, '127.0.0.2');
    await until(() => accepted.length === 1);
    const signature = Buffer.from('0d0a0d0a000d0a515549540a21110000', 'hex');
    socket.write(signature.subarray(0, 6));
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.write(signature.subarray(6));
    await until(() => accepted[0]!.closed);
    expect(accepted[0]!.bytes.length).toBe(0);
    expect(logs.some((line) => String(line['msg']).startsWith('PROXY header from an address not in'))).toBe(true);
  });
});
