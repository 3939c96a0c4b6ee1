import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketBudget } from './socket-budget.js';

let server: Server | undefined;
const clients: Socket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

/** A loopback server that admits sockets through the budget and answers `ok` to those admitted. */
async function serve(budget: SocketBudget): Promise<number> {
  server = createServer((socket) => {
    if (budget.admit(socket)) socket.write('ok');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** Connects and resolves with what the server did: answered `ok`, or closed the connection. */
function attempt(port: number): Promise<'ok' | 'closed'> {
  return new Promise((resolve) => {
    const client = connect(port, '127.0.0.1');
    clients.push(client);
    client.once('data', () => resolve('ok'));
    client.once('close', () => resolve('closed'));
    client.on('error', () => undefined);
  });
}

describe('SocketBudget', () => {
  it('admits sockets up to its limit and closes the next ones', async () => {
    const budget = new SocketBudget(2);
    const port = await serve(budget);
    expect(await attempt(port)).toBe('ok');
    expect(await attempt(port)).toBe('ok');
    expect(await attempt(port)).toBe('closed');
    expect(budget.inUse()).toBe(2);
  });

  it('gives a place back when an admitted socket closes', async () => {
    const budget = new SocketBudget(1);
    const port = await serve(budget);
    expect(await attempt(port)).toBe('ok');
    clients[0]!.destroy();
    for (let tries = 0; budget.inUse() > 0 && tries < 200; tries++) await new Promise((r) => setTimeout(r, 10));
    expect(budget.inUse()).toBe(0);
    expect(await attempt(port)).toBe('ok');
  });
});
