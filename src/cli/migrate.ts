import { loadConfig } from '../config/index.js';
import { openDatabase } from '../db/open.js';

/** `fota migrate`: applies the migrations the database lacks and says which. */
export async function migrateCommand(): Promise<void> {
  const config = loadConfig(process.env);
  const { db, applied } = await openDatabase(config);
  await db.destroy();
  process.stdout.write(applied.length === 0 ? 'The database is up to date.\n' : `Applied: ${applied.join(', ')}\n`);
}
