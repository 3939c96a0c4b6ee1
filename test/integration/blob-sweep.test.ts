import { existsSync } from 'node:fs';
import { rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { LocalBlobStore } from '../../src/storage/local-blob-store.js';
import { testEnvironment } from '../support/server.js';

/**
 * The sweep at start removes firmware files no firmware refers to, but only those stored more than
 * FOTA_BLOB_SWEEP_MIN_AGE_S ago: with nodes sharing the storage, a younger one may be another
 * node's upload, committed and about to get its row.
 */
let app: App | undefined;
let dataDir = '';

afterEach(async () => {
  await app?.stop();
  app = undefined;
  if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
});

/** Commits a blob as an upload does, without its row (as another node would, just before writing it). */
async function commitUnrecorded(text: string, storedAt?: Date): Promise<string> {
  const store = new LocalBlobStore(join(dataDir, 'blobs'));
  await store.open();
  const staged = await store.stage(Readable.from([Buffer.from(text)]), { maxBytes: 1024 });
  await store.commit(staged);
  const path = blobPath(staged.sha256);
  if (storedAt) await utimes(path, storedAt, storedAt);
  return path;
}

const blobPath = (sha256: string) => join(dataDir, 'blobs', 'sha256', sha256.slice(0, 2), sha256);

describe('the sweep of unreferenced firmware files at start', () => {
  it('keeps a young unrecorded blob (default FOTA_BLOB_SWEEP_MIN_AGE_S, an hour) and removes an old one', async () => {
    const env = await testEnvironment();
    dataDir = env['FOTA_DATA_DIR']!;
    const young = await commitUnrecorded('committed by another node a moment ago');
    const old = await commitUnrecorded('left by a crash two hours ago', new Date(Date.now() - 2 * 3_600_000));

    app = await createApp(loadConfig(env));
    await app.start();

    expect(existsSync(young), 'the young blob survives the start').toBe(true);
    expect(existsSync(old), 'the old blob is swept').toBe(false);
  });

  it('removes every unrecorded blob older than FOTA_BLOB_SWEEP_MIN_AGE_S', async () => {
    const env = await testEnvironment({ FOTA_BLOB_SWEEP_MIN_AGE_S: '60' });
    dataDir = env['FOTA_DATA_DIR']!;
    const recent = await commitUnrecorded('ten seconds old', new Date(Date.now() - 10_000));
    const older = await commitUnrecorded('two minutes old', new Date(Date.now() - 120_000));

    app = await createApp(loadConfig(env));
    await app.start();

    expect(existsSync(recent)).toBe(true);
    expect(existsSync(older)).toBe(false);
  });
});
