import { requireRole } from '../access.js';
import { boundedRecord, type AuditCursor, type AuditEntry, type AuditRecord } from '../audit/entry.js';
import { invalid } from '../errors.js';
import type { Actor } from '../model.js';
import type { AuditLog, Clock } from '../ports.js';

/** Entries one page holds at most, and by default. */
export const MAX_AUDIT_PAGE = 500;
export const DEFAULT_AUDIT_PAGE = 100;

/** A search of the log as a client asks it: times as Dates, the cursor as the page before gave it. */
export interface AuditSearch {
  readonly actor?: string | undefined;
  readonly kind?: string | undefined;
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
  readonly cursor?: string | undefined;
  readonly limit?: number | undefined;
}

export interface AuditPage {
  readonly entries: AuditEntry[];
  /** Where the next page starts; undefined on the last page. */
  readonly nextCursor: string | undefined;
}

/**
 * The audit log's service: the management API records every action through `record` (no actor
 * check: recording is not an action), and only admins read it, a page at a time or as a whole.
 */
export class AuditService {
  constructor(private readonly deps: { readonly log: AuditLog; readonly clock: Clock }) {}

  /** Writes one entry, at the time of the clock, within the entry's limits (long texts cut, extra details dropped). */
  record(record: Omit<AuditRecord, 'at'>): Promise<AuditEntry> {
    return this.deps.log.append(boundedRecord({ ...record, at: this.deps.clock.now() }));
  }

  async list(actor: Actor, search: AuditSearch): Promise<AuditPage> {
    requireRole(actor, 'admin');
    const limit = search.limit ?? DEFAULT_AUDIT_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
      throw invalid(`limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}`);
    }
    const entries = await this.deps.log.list({ ...filters(search), after: decodeCursor(search.cursor), limit });
    const last = entries.at(-1);
    return {
      entries,
      nextCursor: entries.length === limit && last ? encodeCursor({ at: last.at, id: last.id }) : undefined,
    };
  }

  /** Every entry that matches, newest first, read a page at a time (for an export streamed as it is read). */
  async *export(actor: Actor, search: Omit<AuditSearch, 'limit'>): AsyncGenerator<AuditEntry> {
    requireRole(actor, 'admin');
    const query = filters(search);
    let after = decodeCursor(search.cursor);
    for (;;) {
      const entries = await this.deps.log.list({ ...query, after, limit: MAX_AUDIT_PAGE });
      yield* entries;
      const last = entries.at(-1);
      if (entries.length < MAX_AUDIT_PAGE || !last) return;
      after = { at: last.at, id: last.id };
    }
  }
}

function filters(search: AuditSearch) {
  const { actor, kind, since, until } = search;
  for (const [name, value] of [
    ['since', since],
    ['until', until],
  ] as const) {
    if (value !== undefined && Number.isNaN(value.getTime())) throw invalid(`${name} must be a date and time`);
  }
  if (since !== undefined && until !== undefined && since.getTime() >= until.getTime()) {
    throw invalid('since must be before until');
  }
  return {
    actor: actor === '' ? undefined : actor,
    kind: kind === '' ? undefined : kind,
    since,
    until,
  };
}

/** `<ms>.<id>` in base64url: opaque to clients, checked when it comes back. */
export function encodeCursor(cursor: AuditCursor): string {
  return Buffer.from(`${cursor.at.getTime()}.${cursor.id}`).toString('base64url');
}

function decodeCursor(text: string | undefined): AuditCursor | undefined {
  if (text === undefined || text === '') return undefined;
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(Buffer.from(text, 'base64url').toString());
  if (!match) throw invalid('cursor is not one this server gave');
  return { at: new Date(Number(match[1])), id: Number(match[2]) };
}
