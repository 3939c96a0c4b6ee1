import type { Kysely, Migration } from 'kysely';
import type { Engine } from '../database.js';
import * as initial from './0001_initial.js';
import * as pushes from './0002_pushes.js';
import * as pushGateway from './0003_push_gateway.js';
import * as accounts from './0004_accounts.js';
import * as linkit7681 from './0005_linkit7681.js';
import * as signing from './0006_signing.js';
import * as webhooks from './0007_webhooks.js';
import * as audit from './0008_audit.js';

/** A migration, written once for every engine: what differs comes from the engine. */
interface Step {
  up(db: Kysely<unknown>, engine: Engine): Promise<void>;
}

const steps: Record<string, Step> = {
  '0001_initial': initial,
  '0002_pushes': pushes,
  '0003_push_gateway': pushGateway,
  '0004_accounts': accounts,
  '0005_linkit7681': linkit7681,
  '0006_signing': signing,
  '0007_webhooks': webhooks,
  '0008_audit': audit,
};

/** The numbered migrations for one engine, applied in order by `fota migrate` and at start. */
export function migrationsFor(engine: Engine): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(steps).map(([name, step]) => [name, { up: (db: Kysely<unknown>) => step.up(db, engine) }]),
  );
}

/** The names of the migrations, oldest first. */
export const migrationNames: readonly string[] = Object.keys(steps);

/** The name of the newest migration. */
export const latestMigration = migrationNames.at(-1)!;
