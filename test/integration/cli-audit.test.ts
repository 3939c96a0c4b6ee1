import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFota, stopAllFota } from '../support/fota-cli.js';
import { startServer, type TestServer } from '../support/server.js';

/** `fota audit list|export` against the real server. */
describe('fota audit', { timeout: 180_000 }, () => {
  let server: TestServer;
  let folder: string;
  const env = () => ({ FOTA_URL: server.url, FOTA_TOKEN: server.token });

  beforeAll(async () => {
    server = await startServer();
    folder = await mkdtemp(join(tmpdir(), 'fota-cli-audit-'));
    expect((await server.api('POST', '/prototypes', { name: 'lamp, "desk"' })).status).toBe(201);
    expect((await server.api('POST', '/prototypes', { name: '' })).status).toBe(400);
  });
  afterAll(async () => {
    stopAllFota();
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('lists entries newest first, filtered, as a table or as JSON, with the cursor of the next page', async () => {
    const readable = await runFota(['audit', 'list', '--kind', 'prototype.create'], env());
    expect(readable.stderr).toBe('');
    const lines = readable.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+ACTOR\s+ADDRESS\s+KIND\s+TARGET\s+RESULT$/);
    expect(lines[1]).toMatch(/Z\s+admin\s+127\.0\.0\.1\s+prototype\.create\s+400 invalid_input$/);
    expect(lines[2]).toMatch(/Z\s+admin\s+127\.0\.0\.1\s+prototype\.create\s+prototype P\w{11}\s+ok 201$/);

    const page = await runFota(['audit', 'list', '--kind', 'prototype.create', '--limit', '1', '--json'], env());
    const body = JSON.parse(page.stdout);
    expect(body.entries).toHaveLength(1);
    expect(body.entries[0].result).toEqual({ outcome: 'failure', status: 400, code: 'invalid_input' });
    const next = await runFota(['audit', 'list', '--kind', 'prototype.create', '--cursor', body.nextCursor], env());
    expect(next.stdout).toContain('ok 201');

    const none = await runFota(['audit', 'list', '--actor', 'nobody@example.com', '--since', '2026-01-01'], env());
    expect(none.stdout).toBe('No entries.\n');
    const badTime = await runFota(['audit', 'list', '--since', 'yesterday'], env());
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('--since must be a date and time');
  });

  it('exports CSV to a file and JSON to standard output', async () => {
    const file = join(folder, 'audit.csv');
    const toFile = await runFota(['audit', 'export', '--kind', 'prototype.create', '--output', file], env());
    expect(toFile.stderr).toBe('');
    const csv = await readFile(file, 'utf8');
    expect(csv.split('\r\n')[0]).toBe(
      'id,at,actorType,actorName,actorUserId,actorRole,tokenId,tokenName,address,kind,targetType,targetId,outcome,status,errorCode,details',
    );
    expect(csv).toContain('"{""name"":""lamp, \\""desk\\""""');
    const json = await runFota(['audit', 'export', '--format', 'json'], env());
    expect(JSON.parse(json.stdout).map((entry: { kind: string }) => entry.kind)).toContain('prototype.create');
  });

  it('says a non-admin may not read the log', async () => {
    const token = await server.api<{ token: string }>('POST', '/tokens', { name: 'ci', role: 'developer' });
    const refused = await runFota(['audit', 'export'], { FOTA_URL: server.url, FOTA_TOKEN: token.body.token });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/admin/);
  });
});
