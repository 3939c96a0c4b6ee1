import type { Selectable } from 'kysely';
import type { AuditDetails, AuditEntry, AuditQuery, AuditRecord } from '../../domain/audit/entry.js';
import { auditActorTypes, type AuditActorType } from '../../domain/audit/entry.js';
import { roles, type Role } from '../../domain/model.js';
import type { AuditLog } from '../../domain/ports.js';
import type { Db } from '../database.js';
import type { AuditEntryTable } from '../schema.js';

type Row = Selectable<AuditEntryTable>;

/** The audit log in SQL, on any engine: newest first by (time, id), each filter on an index. */
export class SqlAuditLog implements AuditLog {
  constructor(private readonly db: Db) {}

  async append(record: AuditRecord): Promise<AuditEntry> {
    const { actor, target, result } = record;
    const row = await this.db
      .insertInto('audit_entries')
      .values({
        at: record.at.getTime(),
        actor_type: actor.type,
        actor_user_id: actor.userId ?? null,
        actor_name: actor.name ?? null,
        actor_role: actor.role ?? null,
        token_id: actor.token?.id ?? null,
        token_name: actor.token?.name ?? null,
        address: record.address,
        kind: record.kind,
        target_type: target?.type ?? null,
        target_id: target?.id ?? null,
        outcome: result.outcome,
        status: result.status,
        error_code: result.code ?? null,
        details_json: JSON.stringify(record.details),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...record, id: Number(row.id) };
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    let select = this.db.selectFrom('audit_entries').selectAll();
    const { actor, kind, since, until, after } = query;
    if (actor !== undefined) {
      select = select.where((eb) =>
        eb.or([eb('actor_name', '=', actor), eb('actor_user_id', '=', actor), eb('token_id', '=', actor)]),
      );
    }
    if (kind !== undefined) select = select.where('kind', '=', kind);
    if (since !== undefined) select = select.where('at', '>=', since.getTime());
    if (until !== undefined) select = select.where('at', '<', until.getTime());
    if (after !== undefined) {
      const at = after.at.getTime();
      select = select.where((eb) => eb.or([eb('at', '<', at), eb.and([eb('at', '=', at), eb('id', '<', after.id)])]));
    }
    const rows = await select.orderBy('at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map(entryFromRow);
  }

  async purgeOlderThan(before: Date, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    const result = await this.db
      .deleteFrom('audit_entries')
      .where(
        'id',
        'in',
        this.db
          .selectFrom('audit_entries')
          .select('id')
          .where('at', '<', before.getTime())
          .orderBy('at')
          .orderBy('id')
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async purgeBeyond(keep: number, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    // The newest entry that is not kept: it and every older one may go.
    const boundary = await this.db
      .selectFrom('audit_entries')
      .select(['at', 'id'])
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .offset(keep)
      .executeTakeFirst();
    if (!boundary) return 0;
    const result = await this.db
      .deleteFrom('audit_entries')
      .where(
        'id',
        'in',
        this.db
          .selectFrom('audit_entries')
          .select('id')
          .where((eb) =>
            eb.or([eb('at', '<', boundary.at), eb.and([eb('at', '=', boundary.at), eb('id', '<=', boundary.id)])]),
          )
          .orderBy('at')
          .orderBy('id')
          .limit(limit),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function entryFromRow(row: Row): AuditEntry {
  const type = (auditActorTypes as readonly string[]).includes(row.actor_type)
    ? (row.actor_type as AuditActorType)
    : 'anonymous';
  const role = (roles as readonly string[]).includes(row.actor_role ?? '') ? (row.actor_role as Role) : undefined;
  return {
    id: Number(row.id),
    at: new Date(Number(row.at)),
    actor: {
      type,
      userId: row.actor_user_id ?? undefined,
      name: row.actor_name ?? undefined,
      role,
      token: row.token_id === null ? undefined : { id: row.token_id, name: row.token_name ?? '' },
    },
    address: row.address,
    kind: row.kind,
    target: row.target_type === null ? undefined : { type: row.target_type, id: row.target_id ?? '' },
    result: {
      outcome: row.outcome === 'success' ? 'success' : 'failure',
      status: Number(row.status),
      code: row.error_code ?? undefined,
    },
    details: parseDetails(row.details_json),
  };
}

function parseDetails(text: string): AuditDetails {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as AuditDetails) : {};
  } catch {
    return {};
  }
}
