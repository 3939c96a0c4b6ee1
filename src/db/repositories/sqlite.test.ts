import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../open.js';
import { auditContract } from './audit.contract.js';
import { repositoryContract } from './repositories.contract.js';
import { signingRepositoryContract } from './signing.contract.js';
import { webhookRepositoryContract } from './webhooks.contract.js';

// Every repository contract against a temporary SQLite file per test, as `fota serve` opens it.
// The engines tier runs the same contracts on PostgreSQL (test/engines/postgres-repositories.test.ts).
async function sqliteFile() {
  const dataDir = await mkdtemp(join(tmpdir(), 'fota-repositories-'));
  const database = await openDatabase({ dataDir });
  return {
    database,
    async close() {
      await database.db.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

repositoryContract('SQLite', sqliteFile);
auditContract('SQLite', sqliteFile);
signingRepositoryContract('SQLite', sqliteFile);
webhookRepositoryContract('SQLite', sqliteFile);
