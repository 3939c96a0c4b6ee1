import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../open.js';
import { auditContract } from './audit.contract.js';

// The audit log's contract against a temporary SQLite file, as `fota serve` opens it.
auditContract('SQLite', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'fota-audit-'));
  const database = await openDatabase({ dataDir });
  return {
    database,
    async close() {
      await database.db.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
