import { Readable } from 'node:stream';
import type { AuditEntry } from '../../domain/audit/entry.js';
import type { AuditEntryBody } from '../../contract/schemas.js';

export const presentAuditEntry = (entry: AuditEntry): AuditEntryBody => ({
  id: entry.id,
  at: entry.at.toISOString(),
  actor: {
    type: entry.actor.type,
    userId: entry.actor.userId ?? null,
    name: entry.actor.name ?? null,
    role: entry.actor.role ?? null,
    tokenId: entry.actor.token?.id ?? null,
    tokenName: entry.actor.token?.name ?? null,
  },
  address: entry.address,
  kind: entry.kind,
  target: entry.target ? { type: entry.target.type, id: entry.target.id } : null,
  result: { outcome: entry.result.outcome, status: entry.result.status, code: entry.result.code ?? null },
  details: { ...entry.details },
});

/** The columns of the CSV export, in order; `details` is the entry's details as JSON. */
export const AUDIT_CSV_COLUMNS = [
  'id',
  'at',
  'actorType',
  'actorName',
  'actorUserId',
  'actorRole',
  'tokenId',
  'tokenName',
  'address',
  'kind',
  'targetType',
  'targetId',
  'outcome',
  'status',
  'errorCode',
  'details',
] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote, a line break or starts or ends
 * with a space, quotes doubled. A text that a spreadsheet would run as a formula (it starts with
 * `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so opening the export runs
 * nothing a client wrote into a name.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(entry: AuditEntry): string {
  const body = presentAuditEntry(entry);
  const fields: Array<string | number | null> = [
    body.id,
    body.at,
    body.actor.type,
    body.actor.name,
    body.actor.userId,
    body.actor.role,
    body.actor.tokenId,
    body.actor.tokenName,
    body.address,
    body.kind,
    body.target?.type ?? null,
    body.target?.id ?? null,
    body.result.outcome,
    body.result.status,
    body.result.code,
    JSON.stringify(body.details),
  ];
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** The export as a stream that reads the log a page at a time as the client takes it. */
export function exportStream(entries: AsyncIterable<AuditEntry>, format: 'csv' | 'json'): Readable {
  return Readable.from(format === 'csv' ? csvLines(entries) : jsonLines(entries), { objectMode: false });
}

async function* csvLines(entries: AsyncIterable<AuditEntry>): AsyncGenerator<string> {
  yield `${AUDIT_CSV_COLUMNS.join(',')}\r\n`;
  for await (const entry of entries) yield csvRow(entry);
}

/** A JSON array, one entry a line. */
async function* jsonLines(entries: AsyncIterable<AuditEntry>): AsyncGenerator<string> {
  let first = true;
  yield '[';
  for await (const entry of entries) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(presentAuditEntry(entry))}`;
    first = false;
  }
  yield first ? ']\n' : '\n]\n';
}
