import { describe, expect, it } from 'vitest';
import { activePushStatuses, canMove, isTerminal, pushStatuses, type PushStatus } from './push.js';

const allowed: Array<[PushStatus, PushStatus]> = [
  ['queued', 'sent'],
  ['queued', 'failed'],
  ['sent', 'queued'],
  ['sent', 'delivered'],
  ['sent', 'downloading'],
  ['sent', 'upgraded'],
  ['sent', 'failed'],
  ['delivered', 'downloading'],
  ['delivered', 'upgraded'],
  ['delivered', 'failed'],
  ['downloading', 'upgraded'],
  ['downloading', 'failed'],
];

describe('push status transitions', () => {
  const pairs = pushStatuses.flatMap((from) => pushStatuses.map((to) => [from, to] as [PushStatus, PushStatus]));

  it.each(pairs)('%s → %s is allowed only along the documented edges', (from, to) => {
    const expected = allowed.some(([a, b]) => a === from && b === to);
    expect(canMove(from, to)).toBe(expected);
  });

  it.each(pushStatuses)('repeating %s is not a move', (status) => {
    expect(canMove(status, status)).toBe(false);
  });

  it.each([
    ['upgraded', true],
    ['failed', true],
    ['offline', true],
    ['incompatible', true],
    ['queued', false],
    ['sent', false],
    ['delivered', false],
    ['downloading', false],
  ] as Array<[PushStatus, boolean]>)('%s is terminal: %s', (status, terminal) => {
    expect(isTerminal(status)).toBe(terminal);
    expect(activePushStatuses.includes(status)).toBe(!terminal);
  });

  it('never moves backwards, but from sent to queued (a command not written after all)', () => {
    const order: PushStatus[] = ['queued', 'sent', 'delivered', 'downloading', 'upgraded'];
    for (let later = 1; later < order.length; later++) {
      for (let earlier = 0; earlier < later; earlier++) {
        const back = order[later] === 'sent' && order[earlier] === 'queued';
        expect(canMove(order[later]!, order[earlier]!)).toBe(back);
      }
    }
  });
});
