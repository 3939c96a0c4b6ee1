import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './keyed-mutex.js';

/** A promise with its resolve and reject exposed, so a test decides when a task ends. */
function gate<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every already queued callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedMutex', () => {
  it('runs tasks on the same key one at a time, in arrival order', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const gates = [gate(), gate(), gate()];
    const runs = gates.map((g, i) =>
      mutex.run('k', async () => {
        events.push(`start ${i}`);
        await g.promise;
        events.push(`end ${i}`);
        return i;
      }),
    );
    await settle();
    expect(events).toEqual(['start 0']);
    gates[1]!.resolve();
    gates[2]!.resolve();
    await settle();
    expect(events).toEqual(['start 0']);
    gates[0]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('runs tasks on different keys at the same time', async () => {
    const mutex = new KeyedMutex();
    const started: string[] = [];
    const a = gate();
    const b = gate();
    const runA = mutex.run('a', async () => {
      started.push('a');
      await a.promise;
    });
    const runB = mutex.run('b', async () => {
      started.push('b');
      await b.promise;
    });
    await settle();
    expect(started).toEqual(['a', 'b']);
    b.resolve();
    await runB;
    a.resolve();
    await runA;
  });

  it.each<[string, () => Promise<never>]>([
    ['rejects', () => Promise.reject(new Error('boom'))],
    [
      'throws synchronously',
      () => {
        throw new Error('boom');
      },
    ],
  ])('a task that %s fails its caller and does not block the next one', async (_label, failing) => {
    const mutex = new KeyedMutex();
    const first = mutex.run('k', failing);
    const second = mutex.run('k', async () => 'next');
    await expect(first).rejects.toThrow('boom');
    await expect(second).resolves.toBe('next');
    await expect(mutex.run('k', async () => 'after')).resolves.toBe('after');
  });

  it('a failing task waits its turn like any other', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const g = gate();
    const first = mutex.run('k', async () => {
      await g.promise;
      events.push('first');
    });
    const failing = mutex.run('k', async () => {
      events.push('failing');
      throw new Error('boom');
    });
    await settle();
    expect(events).toEqual([]);
    g.resolve();
    await first;
    await expect(failing).rejects.toThrow('boom');
    expect(events).toEqual(['first', 'failing']);
  });

  it('forgets a key once its last task is done', async () => {
    const mutex = new KeyedMutex();
    await mutex.run('k', async () => 1);
    await expect(mutex.run('k', () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect((mutex as unknown as { tails: Map<string, unknown> }).tails.size).toBe(0);
  });
});
