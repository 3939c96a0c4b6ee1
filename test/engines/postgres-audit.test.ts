import { inject } from 'vitest';
import { openDatabase } from '../../src/db/open.js';
import { auditContract } from '../../src/db/repositories/audit.contract.js';
import { createDatabase, dropDatabase } from '../services/postgres.js';

// The same audit and retention contract as on SQLite, against the throwaway PostgreSQL.
auditContract('PostgreSQL', async () => {
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
