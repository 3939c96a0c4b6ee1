import { existsSync } from 'node:fs';
import { loadConfig, StartError } from '../config/index.js';
import { openDatabase, sqlitePath } from '../db/open.js';
import { SqlSettingsRepository } from '../db/repositories/settings.js';
import { AdminTokens } from '../domain/services/admin-tokens.js';
import { lockDataDir } from '../storage/data-dir-lock.js';
import { tokenBanner } from './log-output.js';

/** `fota admin reset-token`: a new administrator token for the data folder, shown once. */
export async function resetToken(): Promise<void> {
  const config = loadConfig(process.env);
  // A wrong folder would get a new, empty database and a token no server uses.
  if (config.databaseUrl === undefined && !existsSync(sqlitePath(config.dataDir))) {
    throw new StartError(
      `no fota database in ${config.dataDir}: set FOTA_DATA_DIR to the server's data folder (run this where the server runs)`,
    );
  }
  const lock = lockDataDir(config.dataDir, 'stop it, then run `fota admin reset-token` again');
  try {
    const { db, location } = await openDatabase(config);
    try {
      const token = await new AdminTokens(new SqlSettingsRepository(db)).reset();
      process.stdout.write(
        tokenBanner(
          token,
          `New administrator token for ${config.databaseUrl === undefined ? config.dataDir : location}, shown this once (only its hash is stored).
The old token, and the console sessions opened with it, no longer work once the server starts again.`,
        ),
      );
      if (config.adminToken !== undefined) {
        process.stderr.write(
          'fota: warning: FOTA_ADMIN_TOKEN is set here; a server started with it uses that token, not this one\n',
        );
      }
    } finally {
      await db.destroy();
    }
  } finally {
    lock.release();
  }
}
