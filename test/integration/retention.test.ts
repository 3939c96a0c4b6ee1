import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

/** The periodic purge of `fota serve`, as configured: the audit log trimmed to its newest entries. */
describe('the purge of a running server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ FOTA_AUDIT_MAX_ENTRIES: '3', FOTA_PURGE_INTERVAL_S: '0.2' });
  });
  afterAll(async () => server.stop());

  it('keeps at most FOTA_AUDIT_MAX_ENTRIES entries, the newest, purging again after new ones', async () => {
    for (let n = 0; n < 8; n++) {
      expect((await server.api('POST', '/prototypes', { name: `p${n}` })).status).toBe(201);
    }
    const names = async () =>
      (await server.api<{ entries: { details: { name: string } }[] }>('GET', '/audit?limit=100')).body.entries.map(
        (entry) => entry.details.name,
      );
    await expect.poll(names, { timeout: 30_000, interval: 200 }).toEqual(['p7', 'p6', 'p5']);
    for (let n = 8; n < 12; n++) {
      expect((await server.api('POST', '/prototypes', { name: `p${n}` })).status).toBe(201);
    }
    await expect.poll(names, { timeout: 30_000, interval: 200 }).toEqual(['p11', 'p10', 'p9']);
  });
});
