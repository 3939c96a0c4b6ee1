import { describe, expect, it } from 'vitest';
import { habitFor, heartbeatHabits } from './heartbeats.js';

const ID = 'D0000001';
const KEY = 'k'.repeat(16);

describe('heartbeat habits', () => {
  it.each([
    ['python-tutorial', `${ID},${KEY},0`, 40_000],
    ['mcsjs', `${ID},${KEY},0`, 50_000],
    ['mcs.c', `${ID},${KEY},0${'\0'.repeat(50 - `${ID},${KEY},0`.length)}`, 30_000],
    ['arduino-7697', `${ID},${KEY},`, 60_000],
    ['linkit-one', `${ID},${KEY},0\r\n\r\n`, 50_000],
  ])('%s sends %j every %i ms', (client, bytes, periodMs) => {
    const habit = heartbeatHabits.find((candidate) => candidate.client === client);
    expect(habit?.bytes(ID, KEY).toString('latin1')).toBe(bytes);
    expect(habit?.periodMs).toBe(periodMs);
  });

  it('mcs.c pads to exactly 50 bytes', () => {
    expect(habitFor(2).bytes(ID, KEY)).toHaveLength(50);
  });

  it('TCP devices take the habits in turn', () => {
    const clients = Array.from({ length: 7 }, (_, index) => habitFor(index).client);
    expect(clients).toEqual([
      'python-tutorial',
      'mcsjs',
      'mcs.c',
      'arduino-7697',
      'linkit-one',
      'python-tutorial',
      'mcsjs',
    ]);
  });
});
