import type { Migration } from 'kysely';
import * as initial from './0001_initial.js';
import * as pushes from './0002_pushes.js';

/** Numbered migrations, applied in order by `fota migrate` and at start. */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_pushes': pushes,
};
