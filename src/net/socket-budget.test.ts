import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketBudget } from './socket-budget.js';

let server: Server | undefined;
const clients: Socket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

/**
 * A loopback server that admits sockets through the budget and answers `ok` to those admitted; a
 * socket that sends a byte is taken as identified, as a device's first valid heartbeat would be.
 */
async function serve(budget: SocketBudget): Promise<number> {
  server = createServer((socket) => {
    if (!budget.admit(socket)) return;
    socket.on('data', () => budget.identified(socket));
    socket.write('ok');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** Connects and resolves with what the server did: answered `ok`, or closed the connection. */
function attempt(port: number, identify = true): Promise<'ok' | 'closed'> {
  return new Promise((resolve) => {
    const client = connect(port, '127.0.0.1');
    clients.push(client);
    if (identify) client.write('!');
    client.once('data', () => resolve('ok'));
    client.once('close', () => resolve('closed'));
    client.on('error', () => undefined);
  });
}

async function eventually(condition: () => boolean): Promise<void> {
  for (let tries = 0; !condition() && tries < 500; tries++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

describe('SocketBudget', () => {
  it('admits identified sockets up to its limit and closes the next ones', async () => {
    const budget = new SocketBudget(2);
    const port = await serve(budget);
    expect(await attempt(port)).toBe('ok');
    expect(await attempt(port)).toBe('ok');
    await eventually(() => budget.unidentifiedInUse() === 0);
    expect(await attempt(port)).toBe('closed');
    expect(budget.inUse()).toBe(2);
  });

  it('gives the place of the oldest unidentified socket to a newcomer when the budget is full', async () => {
    const budget = new SocketBudget(3);
    const port = await serve(budget);
    expect(await attempt(port)).toBe('ok');
    await eventually(() => budget.unidentifiedInUse() === 0);
    expect(await attempt(port, false)).toBe('ok');
    expect(await attempt(port, false)).toBe('ok');
    const [device, oldest, newer] = clients;
    // Full: the newcomer takes the place of the oldest socket that never identified.
    expect(await attempt(port, false)).toBe('ok');
    await eventually(() => oldest!.destroyed || oldest!.readableEnded);
    expect(device!.readableEnded).toBe(false);
    expect(newer!.readableEnded).toBe(false);
    expect(budget.inUse()).toBe(3);
  });

  it('keeps unidentified sockets to their share, shedding the oldest first', async () => {
    const budget = new SocketBudget(10, 2);
    const port = await serve(budget);
    for (let i = 0; i < 5; i++) expect(await attempt(port, false)).toBe('ok');
    await eventually(() => budget.unidentifiedInUse() === 2 && budget.inUse() === 2);
    expect(await attempt(port)).toBe('ok');
    // It took the place of the oldest, then proved a device and keeps it.
    await eventually(() => budget.inUse() === 2 && budget.unidentifiedInUse() === 1);
  });

  it('gives a place back when an admitted socket closes', async () => {
    const budget = new SocketBudget(1);
    const port = await serve(budget);
    expect(await attempt(port)).toBe('ok');
    clients[0]!.destroy();
    await eventually(() => budget.inUse() === 0);
    expect(await attempt(port)).toBe('ok');
  });
});
