import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzRawPort, fuzzTarget, printFigures, STRESS_SEED } from '../support/stress.js';
import { TcpDevice } from '../support/tcp-device.js';

const CASES = 1200;
const PARALLEL = 12;

const target = fuzzTarget('tcp fuzz');

/** What a hostile or broken client writes to the TCP command server, chunk by chunk. */
function chunks(valid: { deviceId: string; deviceKey: string }) {
  const id = fc.oneof(
    fc.constant(valid.deviceId),
    fc.stringMatching(/^D[A-Za-z0-9]{7}$/),
    fc.string({ maxLength: 40 }),
  );
  const key = fc.oneof(
    fc.constant(valid.deviceKey),
    fc.stringMatching(/^[A-Za-z0-9]{16}$/),
    fc.string({ maxLength: 40 }),
  );
  const timestamp = fc.oneof(fc.constantFrom('0', '', '1513132150790'), fc.string({ maxLength: 20 }));
  const tail = fc.constantFrom('', '\0'.repeat(20), '\r\n\r\n', ',', ',,,', '\n', 'FOTA');
  const heartbeat = fc
    .tuple(id, key, timestamp, tail)
    .map(([i, k, t, rest]) => Buffer.from(`${i},${k},${t}${rest}`, 'latin1'));
  const piece = fc.oneof(
    { weight: 4, arbitrary: heartbeat },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.integer({ min: 900, max: 6000 }).map((n) => Buffer.alloc(n, 0x41)) },
    { weight: 1, arbitrary: fc.constantFrom(',', '\0', '\r\n', ',,,,,,,,').map((s) => Buffer.from(s)) },
  );
  return fc.array(piece, { minLength: 1, maxLength: 6 });
}

describe('TCP command server fuzz', () => {
  it('survives every case, still serves a valid device after, and prints its figures', async () => {
    const { server, device } = target;
    const rssBefore = await server.rssMiB();
    const cases = fc.sample(chunks(device), { seed: STRESS_SEED, numRuns: CASES });
    const { tried, closedByServer, crashes } = await fuzzRawPort(server, server.tcpPort, cases, PARALLEL);
    const valid = await TcpDevice.connect(server.tcpPort);
    valid.send(`${device.deviceId},${device.deviceKey},0`);
    await valid.waitFor(`${device.deviceId},${device.deviceKey},`);
    valid.close();
    const rssAfter = await server.rssMiB();
    printFigures('TCP command server fuzz', {
      'cases tried': tried,
      'closed by the server': closedByServer,
      crashes,
      'valid device after': 'echoed',
      'RSS before (MiB)': rssBefore,
      'RSS after (MiB)': rssAfter,
    });
    expect(crashes, server.child.output()).toBe(0);
    expect(tried).toBe(CASES);
    // Nothing a case sends is kept: memory stays within a generous margin of where it started.
    expect(rssAfter - rssBefore).toBeLessThan(150);
  });
});
