import { describe, expect, it } from 'vitest';
import { HeartbeatDeadlines } from './heartbeat-deadlines.js';

describe('HeartbeatDeadlines', () => {
  it('expires the entries without a refresh for the timeout, oldest first', () => {
    const deadlines = new HeartbeatDeadlines<string>(100);
    deadlines.refresh('a', 0);
    deadlines.refresh('b', 10);
    deadlines.refresh('c', 20);
    expect(deadlines.expire(99)).toEqual([]);
    expect(deadlines.expire(110)).toEqual(['a', 'b']);
    expect(deadlines.size).toBe(1);
    expect(deadlines.expire(1000)).toEqual(['c']);
    expect(deadlines.expire(2000)).toEqual([]);
  });

  it('restarts the wait of a refreshed entry', () => {
    const deadlines = new HeartbeatDeadlines<string>(100);
    deadlines.refresh('a', 0);
    deadlines.refresh('b', 10);
    deadlines.refresh('a', 50);
    expect(deadlines.expire(110)).toEqual(['b']);
    expect(deadlines.expire(149)).toEqual([]);
    expect(deadlines.expire(150)).toEqual(['a']);
  });

  it('forgets removed entries', () => {
    const deadlines = new HeartbeatDeadlines<string>(100);
    deadlines.refresh('a', 0);
    deadlines.refresh('b', 0);
    deadlines.remove('a');
    expect(deadlines.expire(500)).toEqual(['b']);
    expect(deadlines.size).toBe(0);
  });
});
