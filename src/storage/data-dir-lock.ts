import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StartError } from '../config/index.js';

/** The hold of one process on a data folder, until it releases it or ends. */
export interface DataDirLock {
  release(): void;
}

/** Strong references: a collected connection would close, and its lock would go with it. */
const held = new Set<Database.Database>();

/**
 * Takes the data folder for this process alone: an exclusive SQLite transaction on `fota.lock`,
 * which is an OS file lock (fcntl), so the kernel releases it when the process ends, even by
 * SIGKILL. A second server on the same folder would sweep the first one's uploads in progress;
 * `hint` tells the refused caller what to do.
 */
export function lockDataDir(dataDir: string, hint: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'fota.lock'), { timeout: 0 });
  try {
    db.pragma('journal_mode = DELETE');
    db.exec('CREATE TABLE IF NOT EXISTS held_by (pid INTEGER)');
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('DELETE FROM held_by').run();
    db.prepare('INSERT INTO held_by (pid) VALUES (?)').run(process.pid);
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new StartError(`a fota server is using the data folder ${dataDir} (FOTA_DATA_DIR): ${hint}`);
    }
    throw error;
  }
  held.add(db);
  return {
    release() {
      if (!held.delete(db)) return;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
