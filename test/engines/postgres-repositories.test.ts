import { inject } from 'vitest';
import { openDatabase } from '../../src/db/open.js';
import { auditContract } from '../../src/db/repositories/audit.contract.js';
import { repositoryContract } from '../../src/db/repositories/repositories.contract.js';
import { signingRepositoryContract } from '../../src/db/repositories/signing.contract.js';
import { webhookRepositoryContract } from '../../src/db/repositories/webhooks.contract.js';
import { createDatabase, dropDatabase } from '../services/postgres.js';

// The same contracts as on SQLite, against the throwaway PostgreSQL: a new database per test.
async function postgresDatabase() {
  const url = await createDatabase(inject('postgresUrl'));
  const database = await openDatabase({ dataDir: '/nonexistent', databaseUrl: url, databasePoolSize: 5 });
  return {
    database,
    async close() {
      await database.db.destroy();
      await dropDatabase(url);
    },
  };
}

repositoryContract('PostgreSQL', postgresDatabase);
auditContract('PostgreSQL', postgresDatabase);
signingRepositoryContract('PostgreSQL', postgresDatabase);
webhookRepositoryContract('PostgreSQL', postgresDatabase);
