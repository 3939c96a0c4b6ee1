import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WaitingDevices } from './dispatcher.js';

/**
 * The WaitingDevices contract, for every implementation: `create()` gives an empty set of its own.
 * `take` removes and answers in one step, so that of two takers only one reads the device's
 * queued pushes, and a device added after a take is there for the next one.
 */
export function waitingDevicesContract(name: string, create: () => Promise<WaitingDevices>): void {
  // Ids of this run only: a shared set (Redis) may hold other tests' devices.
  const run = randomBytes(4).toString('hex');
  const id = (n: number) => `D${run}${n}`;
  describe(`WaitingDevices contract: ${name}`, () => {
    it('answers a take once per add, and keeps a device added after a take for the next one', async () => {
      const waiting = await create();
      expect(await waiting.take(id(1))).toBe(false);
      await waiting.add([id(1), id(2)]);
      expect(await waiting.take(id(1))).toBe(true);
      expect(await waiting.take(id(1))).toBe(false);
      await waiting.add([id(1)]);
      expect(await waiting.take(id(1))).toBe(true);
      expect(await waiting.take(id(2))).toBe(true);
      expect(await waiting.take(id(2))).toBe(false);
    });

    it('lets one of two takers at the same moment have the device', async () => {
      const waiting = await create();
      await waiting.add([id(3)]);
      const taken = await Promise.all([waiting.take(id(3)), waiting.take(id(3))]);
      expect(taken.sort()).toEqual([false, true]);
    });

    it('adds many devices at once, each taken once', async () => {
      const waiting = await create();
      const ids = Array.from({ length: 2500 }, (_, index) => id(100 + index));
      await waiting.add(ids);
      const taken = await Promise.all(ids.map((id) => waiting.take(id)));
      expect(taken.every(Boolean)).toBe(true);
      expect(await waiting.take(ids[0]!)).toBe(false);
    });
  });
}
