import type { Role } from '../model.js';

/**
 * The audit log: one entry per management action (who, when, from where, what, on what, and how
 * it ended), failed attempts and sign-ins included. Plain data, no transport type: the status is
 * the number the management API answered, kept as a number.
 */

/** How the actor was known: the admin token (or a session opened with it), a user's session, an API token. */
export type AuditActorType = 'admin' | 'user' | 'token' | 'anonymous';
export const auditActorTypes: readonly AuditActorType[] = ['admin', 'user', 'token', 'anonymous'];

export interface AuditActor {
  readonly type: AuditActorType;
  /** The user's id; undefined for the built-in administrator and the anonymous. */
  readonly userId: string | undefined;
  /** The user's email, `admin`; undefined for the anonymous. */
  readonly name: string | undefined;
  /** The role the request acted with. */
  readonly role: Role | undefined;
  /** The API token it came with (type `token`). */
  readonly token: { readonly id: string; readonly name: string } | undefined;
}

export const anonymousActor: AuditActor = {
  type: 'anonymous',
  userId: undefined,
  name: undefined,
  role: undefined,
  token: undefined,
};

/** What the action was on: `device` `Dk3Jd9aQ`, `user` `ada@example.com`. */
export interface AuditTarget {
  readonly type: string;
  readonly id: string;
}

export type AuditValue = string | number | boolean | null;
export type AuditDetails = Readonly<Record<string, AuditValue>>;

export interface AuditResult {
  readonly outcome: 'success' | 'failure';
  /** The answer's status (201, 403, 409). */
  readonly status: number;
  /** The error code of a failure (`forbidden`, `in_use`); undefined on success. */
  readonly code: string | undefined;
}

/** An entry as it is recorded, before the log numbers it. */
export interface AuditRecord {
  readonly at: Date;
  readonly actor: AuditActor;
  /** The client's address as the server saw it. */
  readonly address: string;
  /** `<what>.<verb>`: `firmware.upload`, `push.create`, `device.rotate-key`, `session.sign-in`. */
  readonly kind: string;
  readonly target: AuditTarget | undefined;
  readonly result: AuditResult;
  readonly details: AuditDetails;
}

export interface AuditEntry extends AuditRecord {
  /** Increasing in the order entries were written, unique. */
  readonly id: number;
}

/** Where a page of the log starts: after this entry, newest first. */
export interface AuditCursor {
  readonly at: Date;
  readonly id: number;
}

export interface AuditQuery {
  /** An email, `admin`, a user id or an API token id. */
  readonly actor?: string | undefined;
  readonly kind?: string | undefined;
  /** From this time, inclusive. */
  readonly since?: Date | undefined;
  /** Before this time, exclusive. */
  readonly until?: Date | undefined;
  /** Entries older than this one. */
  readonly after?: AuditCursor | undefined;
  readonly limit: number;
}

/** Limits of one entry: what is longer is cut, so an entry stays small whatever a client sends. */
export const AUDIT_LIMITS = {
  kind: 64,
  targetType: 32,
  targetId: 256,
  address: 64,
  detailKeys: 16,
  detailKey: 64,
  detailText: 256,
} as const;

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The entry within its limits: long texts cut, details past the count dropped, non-finite numbers as null. */
export function boundedRecord(record: AuditRecord): AuditRecord {
  const details: Record<string, AuditValue> = {};
  for (const [key, value] of Object.entries(record.details).slice(0, AUDIT_LIMITS.detailKeys)) {
    details[cut(key, AUDIT_LIMITS.detailKey)] =
      typeof value === 'string'
        ? cut(value, AUDIT_LIMITS.detailText)
        : typeof value === 'number' && !Number.isFinite(value)
          ? null
          : value;
  }
  return {
    ...record,
    kind: cut(record.kind, AUDIT_LIMITS.kind),
    address: cut(record.address, AUDIT_LIMITS.address),
    target:
      record.target === undefined
        ? undefined
        : { type: cut(record.target.type, AUDIT_LIMITS.targetType), id: cut(record.target.id, AUDIT_LIMITS.targetId) },
    details,
  };
}
