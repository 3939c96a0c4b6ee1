import type { Client } from 'aedes';
import aedesPersistence from 'aedes-persistence';
import { describe, expect, it } from 'vitest';
import { boundMemoryQueue } from './session-queue.js';

const memoryPersistence = aedesPersistence as unknown as typeof aedesPersistence.default;

interface Store {
  outgoingEnqueue(sub: { clientId: string }, packet: object): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): Promise<void>;
  outgoingUpdate(client: Client, packet: object): Promise<void>;
  outgoingClearMessageId(client: Client, packet: object): Promise<{ payload: Buffer } | undefined>;
  outgoingStream(client: { id: string }): AsyncIterable<{ payload: Buffer; messageId?: number }>;
  destroy(): Promise<void>;
}

let counter = 0;
const packet = (payload: string) => ({
  cmd: 'publish',
  topic: 'mcs/D/K/temp',
  payload: Buffer.from(payload),
  qos: 1,
  retain: false,
  dup: false,
  brokerId: 'b',
  brokerCounter: ++counter,
});
const client = (id: string) => ({ id, clean: false }) as Client;

async function queued(store: Store, clientId: string): Promise<string[]> {
  const payloads: string[] = [];
  for await (const stored of store.outgoingStream({ id: clientId })) payloads.push(stored.payload.toString());
  return payloads;
}

function bounded(maxPackets: number, ttlMs: number) {
  let now = 1_000_000;
  const store = boundMemoryQueue(memoryPersistence(), { maxPackets, ttlMs }, () => now) as unknown as Store;
  return { store, advance: (ms: number) => (now += ms) };
}

describe('a persistent session’s queue in memory', () => {
  it('keeps the newest maxPackets of each client, dropping the oldest', async () => {
    const { store } = bounded(3, 60_000);
    for (const value of ['1', '2', '3', '4', '5']) await store.outgoingEnqueue({ clientId: 'p' }, packet(value));
    await store.outgoingEnqueueCombi([{ clientId: 'p' }, { clientId: 'q' }], packet('6'));
    expect(await queued(store, 'p')).toEqual(['4', '5', '6']);
    expect(await queued(store, 'q')).toEqual(['6']);
    await store.destroy();
  });

  it('leaves out what is older than the TTL when the client resumes', async () => {
    const { store, advance } = bounded(10, 1000);
    await store.outgoingEnqueue({ clientId: 'p' }, packet('old'));
    advance(600);
    await store.outgoingEnqueue({ clientId: 'p' }, packet('new'));
    advance(500);
    expect(await queued(store, 'p')).toEqual(['new']);
    advance(500);
    expect(await queued(store, 'p')).toEqual([]);
    await store.destroy();
  });

  it('records the message id a packet leaves with, and clears it on its PUBACK', async () => {
    const { store } = bounded(10, 60_000);
    const sent = packet('1');
    await store.outgoingEnqueue({ clientId: 'p' }, sent);
    await store.outgoingEnqueue({ clientId: 'p' }, packet('2'));
    await store.outgoingUpdate(client('p'), { ...sent, messageId: 7 });
    expect((await store.outgoingClearMessageId(client('p'), { messageId: 7 }))?.payload.toString()).toBe('1');
    expect(await store.outgoingClearMessageId(client('p'), { messageId: 7 })).toBeUndefined();
    expect(await queued(store, 'p')).toEqual(['2']);
    // One dropped while on its way (no longer queued) is no error: aedes would close the client.
    await store.outgoingUpdate(client('p'), { ...packet('x'), brokerId: 'other', messageId: 9 });
    expect(await queued(store, 'p')).toEqual(['2']);
    await store.destroy();
  });
});
