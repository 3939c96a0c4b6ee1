import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { MAX_WORKERS, parseWorkers, servePrimary } from './serve-workers.js';

describe('fota serve --workers', () => {
  it('reads a whole number of workers from 1 to the maximum, and refuses the rest in words', () => {
    expect(parseWorkers(undefined)).toBe(1);
    expect(parseWorkers('1')).toBe(1);
    expect(parseWorkers(String(MAX_WORKERS))).toBe(MAX_WORKERS);
    for (const bad of ['0', '-1', '2.5', 'two', '', String(MAX_WORKERS + 1)]) {
      expect(() => parseWorkers(bad)).toThrow(
        expect.objectContaining({
          cliMessage: `--workers must be a whole number from 1 to ${MAX_WORKERS}, not "${bad}"`,
        }),
      );
    }
  });

  it('refuses to start workers without FOTA_REDIS_URL, before it touches the data folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fota-workers-'));
    try {
      const config = loadConfig({ FOTA_DATA_DIR: join(dir, 'data') });
      await expect(servePrimary(config, pino({ level: 'silent' }), 3, () => undefined)).rejects.toMatchObject({
        cliMessage:
          '--workers 3 runs 3 nodes of one cluster, which share devices, events and rate limits through Redis: set FOTA_REDIS_URL (redis://host:port)',
      });
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
