import type { AuditLog, Clock, PushRepository } from '../ports.js';

/** How long the audit log and the push history are kept; undefined: no limit of that kind. */
export interface RetentionPolicy {
  readonly auditMaxAgeMs: number | undefined;
  readonly auditMaxEntries: number | undefined;
  readonly historyMaxAgeMs: number | undefined;
  readonly historyMaxPushes: number | undefined;
}

/** Rows one statement of the purge deletes at most: SQLite has one writer, and others wait on it. */
export const PURGE_BATCH_ROWS = 1000;

export interface PurgeReport {
  readonly auditEntries: number;
  readonly pushes: number;
  /** Rows of pushes, their targets and transitions. */
  readonly historyRows: number;
}

/**
 * Trims the audit log and the push history to the policy: old entries and old finished pushes
 * (with their targets and transitions) go, a bounded batch per statement with a pause between, so
 * requests keep being served. A push with any target still active is never deleted. Every delete
 * is by condition, so nodes that share a database and purge at once only share the work.
 */
export class Retention {
  private running: Promise<PurgeReport> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: {
      readonly audit: Pick<AuditLog, 'purgeOlderThan' | 'purgeBeyond'>;
      readonly pushes: Pick<PushRepository, 'finishedPushes' | 'purgePush'>;
      readonly clock: Clock;
      readonly policy: RetentionPolicy;
      readonly batchRows?: number;
    },
  ) {}

  /** One purge; a call while one runs gets that one's report. */
  purge(): Promise<PurgeReport> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Ends a purge under way after its current batch, and refuses new ones (the server stops). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<PurgeReport> {
    const { audit, pushes, clock, policy } = this.deps;
    const batch = this.deps.batchRows ?? PURGE_BATCH_ROWS;
    const now = clock.now().getTime();
    const more = () => !this.stopped;
    let auditEntries = 0;
    if (policy.auditMaxAgeMs !== undefined) {
      const before = new Date(now - policy.auditMaxAgeMs);
      auditEntries += await repeat(() => audit.purgeOlderThan(before, batch), batch, more);
    }
    if (policy.auditMaxEntries !== undefined) {
      const keep = policy.auditMaxEntries;
      auditEntries += await repeat(() => audit.purgeBeyond(keep, batch), batch, more);
    }
    let purgedPushes = 0;
    let historyRows = 0;
    if (policy.historyMaxAgeMs !== undefined || policy.historyMaxPushes !== undefined) {
      const select = {
        createdBefore: policy.historyMaxAgeMs === undefined ? undefined : new Date(now - policy.historyMaxAgeMs),
        keepNewest: policy.historyMaxPushes,
        limit: 100,
      };
      while (more()) {
        const ids = await pushes.finishedPushes(select);
        if (ids.length === 0) break;
        let progressed = false;
        for (const id of ids) {
          // The last call of a push deletes its row: 1, then 0 once it is gone.
          let rows = 0;
          while (more()) {
            const deleted = await pushes.purgePush(id, batch);
            if (deleted === 0) break;
            rows += deleted;
            await pause();
          }
          if (rows > 0) {
            purgedPushes += 1;
            historyRows += rows;
            progressed = true;
          }
        }
        // Another node took them all: what is left is theirs, or nothing.
        if (!progressed) break;
      }
    }
    return { auditEntries, pushes: purgedPushes, historyRows };
  }
}

/** Runs a batch until one deletes less than a whole batch, pausing between; answers the total. */
async function repeat(step: () => Promise<number>, batch: number, more: () => boolean): Promise<number> {
  let total = 0;
  while (more()) {
    const deleted = await step();
    total += deleted;
    if (deleted < batch) break;
    await pause();
  }
  return total;
}

/** Lets waiting requests and other writers go first between two batches. */
const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
