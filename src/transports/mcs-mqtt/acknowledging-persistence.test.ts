import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { memoryBrokerState } from './broker-state.js';
import { DEFAULT_SESSION_QUEUE } from './session-queue.js';

interface Store {
  outgoingEnqueue(sub: { clientId: string }, packet: object): Promise<void>;
  outgoingStream(client: { id: string }): AsyncIterable<{ topic: string }>;
  outgoingClearMessageId(client: object, packet: object): Promise<unknown>;
}

const packet = (topic: string) => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from('x'),
  qos: 1,
  retain: false,
  dup: false,
  brokerId: 'b',
  brokerCounter: 1,
});

async function queued(store: Store, clientId: string): Promise<string[]> {
  const topics: string[] = [];
  for await (const stored of store.outgoingStream({ id: clientId })) topics.push(stored.topic);
  return topics;
}

describe('the broker persistence (aedes in memory, wrapped)', () => {
  it('queues data for a persistent session but never a FOTA command, which the push dispatcher owns', async () => {
    const state = memoryBrokerState(() => undefined, DEFAULT_SESSION_QUEUE);
    const store = state.persistence as unknown as Store;
    await store.outgoingEnqueue({ clientId: 'p' }, packet('mcs/D/K/temp'));
    await store.outgoingEnqueue({ clientId: 'p' }, packet('mcs/D/K/FOTA'));
    expect(await queued(store, 'p')).toEqual(['mcs/D/K/temp']);
    await state.close();
  });

  it('reports the message id of every PUBACK, from clean and persistent sessions alike', async () => {
    const acknowledged: Array<[string, number]> = [];
    const state = memoryBrokerState(
      (client, messageId) => acknowledged.push([client.id, messageId]),
      DEFAULT_SESSION_QUEUE,
    );
    const store = state.persistence as unknown as Store;
    await store.outgoingClearMessageId({ id: 'c', clean: true } as Client, { cmd: 'puback', messageId: 7 });
    await store.outgoingClearMessageId({ id: 'p', clean: false } as Client, { cmd: 'puback', messageId: 8 });
    expect(acknowledged).toEqual([
      ['c', 7],
      ['p', 8],
    ]);
    await state.close();
  });
});
