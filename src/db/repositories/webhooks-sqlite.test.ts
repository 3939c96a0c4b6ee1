import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../open.js';
import { webhookRepositoryContract } from './webhooks.contract.js';

// The contract against a temporary SQLite file, as `fota serve` opens it.
webhookRepositoryContract('SQLite', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'fota-webhooks-'));
  const database = await openDatabase({ dataDir });
  return {
    database,
    async close() {
      await database.db.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
