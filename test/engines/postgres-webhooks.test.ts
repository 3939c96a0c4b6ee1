import { inject } from 'vitest';
import { openDatabase } from '../../src/db/open.js';
import { webhookRepositoryContract } from '../../src/db/repositories/webhooks.contract.js';
import { createDatabase, dropDatabase } from '../services/postgres.js';

// The same contract as on SQLite, against the throwaway PostgreSQL: a new database per test.
webhookRepositoryContract('PostgreSQL', async () => {
  const url = await createDatabase(inject('postgresUrl'));
  const database = await openDatabase({ dataDir: '/nonexistent', databaseUrl: url, databasePoolSize: 5 });
  return {
    database,
    async close() {
      await database.db.destroy();
      await dropDatabase(url);
    },
  };
});
