import type { Migration } from 'kysely';
import * as initial from './0001_initial.js';
import * as pushes from './0002_pushes.js';
import * as pushGateway from './0003_push_gateway.js';
import * as accounts from './0004_accounts.js';
import * as linkit7681 from './0005_linkit7681.js';

/** Numbered migrations, applied in order by `fota migrate` and at start. */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_pushes': pushes,
  '0003_push_gateway': pushGateway,
  '0004_accounts': accounts,
  '0005_linkit7681': linkit7681,
};
