import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Files under a folder, recursively, as paths relative to it; none when it does not exist. */
export async function filesUnder(folder: string): Promise<string[]> {
  try {
    const entries = await readdir(folder, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The firmware blobs and the temporary files of a server's data folder. */
export async function blobFiles(dataDir: string): Promise<{ blobs: string[]; temporary: string[] }> {
  return {
    blobs: await filesUnder(join(dataDir, 'blobs', 'sha256')),
    temporary: await filesUnder(join(dataDir, 'blobs', 'tmp')),
  };
}

/** Waits until `check` holds, polling, or fails with the last value after `ms`. */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not reached; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
