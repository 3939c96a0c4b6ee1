import { describe, expect, it } from 'vitest';
import { ConnectionProblems, MAX_PROBLEM_KINDS, OTHER_REASONS } from './connection-problems.js';
import { statsLine } from './stats-text.js';

describe('ConnectionProblems', () => {
  it('tells kinds apart by protocol and reason, without the device id, and counts each', () => {
    const problems = new ConnectionProblems();
    expect(problems.record('mqtt', 'D0000001', 'connect ECONNREFUSED 127.0.0.1:1883')).toBe(true);
    expect(problems.record('mqtt', 'D0000002', 'connect ECONNREFUSED 127.0.0.1:1883')).toBe(false);
    expect(problems.record('tcp', 'D0000003', 'connect ECONNREFUSED 127.0.0.1:1883')).toBe(true);
    const noAddress = (id: string) => `no TCP address: GET /mcs/v2/devices/${id}/connections.csv answered HTTP 404`;
    expect(problems.record('tcp', 'D0000003', noAddress('D0000003'))).toBe(true);
    expect(problems.record('tcp', 'D0000005', noAddress('D0000005'))).toBe(false);
    expect(problems.record('tcp', 'D0000005', noAddress('D0000005'))).toBe(false);
    expect(problems.list()).toEqual([
      { protocol: 'tcp', reason: noAddress('D0000003'), count: 3 },
      { protocol: 'mqtt', reason: 'connect ECONNREFUSED 127.0.0.1:1883', count: 2 },
      { protocol: 'tcp', reason: 'connect ECONNREFUSED 127.0.0.1:1883', count: 1 },
    ]);
  });

  it(`keeps ${MAX_PROBLEM_KINDS} kinds apart and counts the rest together`, () => {
    const problems = new ConnectionProblems();
    for (let n = 0; n < MAX_PROBLEM_KINDS + 5; n++) problems.record('tcp', 'D0000001', `odd reason ${n}`);
    const list = problems.list();
    expect(list).toHaveLength(MAX_PROBLEM_KINDS + 1);
    expect(list[0]).toEqual({ protocol: 'tcp', reason: OTHER_REASONS, count: 5 });
  });
});

describe('statsLine', () => {
  const stats = {
    devices: { tcp: 0, mqtt: 5 },
    connected: { tcp: 0, mqtt: 0 },
    fotaReceived: 0,
    downloading: 0,
    upgraded: 0,
    failed: 0,
    disconnects: 70,
    heartbeats: 0,
    echoes: 0,
    bytesDownloaded: 0,
    versions: {},
  };

  it('names the most frequent reason connections failed after the reconnects', () => {
    expect(statsLine({ ...stats, connectionProblems: [] })).toBe(
      'connected mqtt 0/5 | FOTA 0 | downloading 0 | upgraded 0 | failed 0 | reconnects 70',
    );
    expect(
      statsLine({
        ...stats,
        connectionProblems: [
          { protocol: 'mqtt', reason: 'connect ECONNREFUSED 127.0.0.1:1883', count: 69 },
          { protocol: 'mqtt', reason: 'closed by the broker', count: 1 },
        ],
      }),
    ).toBe(
      'connected mqtt 0/5 | FOTA 0 | downloading 0 | upgraded 0 | failed 0 | reconnects 70 (mqtt: connect ECONNREFUSED 127.0.0.1:1883)',
    );
  });
});
