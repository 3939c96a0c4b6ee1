import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditSearch } from '../../domain/services/audit.js';
import type { HttpServices } from '../services.js';
import {
  AuditExportQuery,
  AuditPage,
  AuditQuery,
  commonErrors,
  type AuditFiltersBody,
} from '../../contract/schemas.js';
import { exportStream, presentAuditEntry } from './audit-export.js';

const tags = ['audit'];

const searchOf = (query: AuditFiltersBody): AuditSearch => ({
  actor: query.actor,
  kind: query.kind,
  since: query.since === undefined ? undefined : new Date(query.since),
  until: query.until === undefined ? undefined : new Date(query.until),
});

/** `/api/v1/audit`: the log of management actions, a page at a time or exported whole; admins only. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  app.get(
    '/audit',
    {
      schema: {
        tags,
        summary: 'Read the audit log, newest first',
        description:
          'Every management action (POST, PUT, PATCH, DELETE under /api/v1, sign-ins and failed attempts included): who, when, from which address, what, on what, and the result. Filters combine; `nextCursor` pages on. Admins only.',
        querystring: AuditQuery,
        response: { 200: AuditPage, ...commonErrors },
      },
    },
    async (request) => {
      const { cursor, limit } = request.query;
      const page = await services.audit.list(request.actor, { ...searchOf(request.query), cursor, limit });
      return { entries: page.entries.map(presentAuditEntry), nextCursor: page.nextCursor ?? null };
    },
  );

  app.get(
    '/audit/export',
    {
      schema: {
        tags,
        summary: 'Export the audit log as CSV or JSON',
        description:
          'Every entry that matches the filters, newest first, streamed as it is read: `format=csv` (RFC 4180, a header line, `details` as JSON; a text that starts with =, +, -, @ gets a leading apostrophe) or `format=json` (an array). Admins only.',
        querystring: AuditExportQuery,
        response: {
          200: Type.Unknown({ description: 'text/csv, or application/json: an array of AuditEntry' }),
          ...commonErrors,
        },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'csv';
      const entries = services.audit.export(request.actor, searchOf(request.query));
      // The first step checks the actor and the filters, so a refusal is an error answer, not a broken stream.
      const first = await entries.next();
      async function* all() {
        if (first.done) return;
        yield first.value;
        yield* entries;
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      return reply
        .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="fota-audit-${stamp}.${format}"`)
        .header('cache-control', 'no-store')
        .send(exportStream(all(), format));
    },
  );
};
