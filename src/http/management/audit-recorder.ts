import type { FastifyInstance, FastifyRequest } from 'fastify';
import { anonymousActor, type AuditActor, type AuditDetails, type AuditTarget } from '../../domain/audit/entry.js';
import type { Actor } from '../../domain/model.js';
import type { AuditService } from '../../domain/services/audit.js';
import { bearerToken, sessionCookie, unsafeMethods } from './auth.js';

/** What a route's audit declaration reads to name the target and the details. */
export interface AuditSeen {
  readonly params: Readonly<Record<string, unknown>>;
  readonly query: Readonly<Record<string, unknown>>;
  /** The JSON body; `{}` for none (or a multipart one: its fields come through `request.auditDetails`). */
  readonly body: Readonly<Record<string, unknown>>;
  /** The JSON answer of a success; `{}` on failure. */
  readonly answer: Readonly<Record<string, unknown>>;
}

/**
 * How a management route that changes something is recorded, declared in its `config.audit`:
 * the kind of action, what it is on, and a few details (never a secret: a password, a token, a
 * device key). Every POST, PUT, PATCH and DELETE route writes one entry per request, declared or
 * not; an undeclared one writes `undeclared <METHOD> <url>`, which the OpenAPI walk test refuses.
 */
export interface AuditDeclaration {
  /** `<what>.<verb>`: `firmware.upload`, `device.rotate-key`. */
  readonly kind: string;
  readonly target?: (seen: AuditSeen) => AuditTarget | undefined;
  readonly details?: (seen: AuditSeen) => AuditDetails;
  /** Recorded even without any credential: signing in. */
  readonly anonymous?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditDeclaration;
  }
  interface FastifyRequest {
    /** Details a handler adds to the request's audit entry (fields a multipart body held). */
    auditDetails: Record<string, string | number | boolean | null> | undefined;
  }
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;

/** The target named by a path parameter: `param('device', 'deviceId')`. */
export const param =
  (type: string, name: string) =>
  (seen: AuditSeen): AuditTarget | undefined => {
    const id = text(seen.params[name]);
    return id === undefined ? undefined : { type, id };
  };

/** The target named by a field of the answer: the id of what was just created. */
export const answered =
  (type: string, field: string) =>
  (seen: AuditSeen): AuditTarget | undefined => {
    const id = text(seen.answer[field]);
    return id === undefined ? undefined : { type, id };
  };

/** The target named by a field of the body. */
export const fromBody =
  (type: string, field: string, normalize: (value: string) => string = (value) => value) =>
  (seen: AuditSeen): AuditTarget | undefined => {
    const id = text(seen.body[field]);
    return id === undefined ? undefined : { type, id: normalize(id) };
  };

/** The first of these that names a target. */
export const either =
  (...choices: Array<(seen: AuditSeen) => AuditTarget | undefined>) =>
  (seen: AuditSeen): AuditTarget | undefined => {
    for (const choice of choices) {
      const target = choice(seen);
      if (target) return target;
    }
    return undefined;
  };

/** These fields of the body, those that are plain values; say which: nothing else is copied. */
export const bodyFields =
  (...names: string[]) =>
  (seen: AuditSeen): AuditDetails =>
    Object.fromEntries(
      names.flatMap((name) => {
        const value = seen.body[name];
        return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
          ? [[name, value]]
          : [];
      }),
    );

/** Who the entry names: the actor the request authenticated as, with how it did. */
export function auditActorOf(actor: Actor | null | undefined): AuditActor {
  if (!actor || actor.kind === 'device') return anonymousActor;
  if (actor.kind === 'admin')
    return { type: 'admin', userId: undefined, name: 'admin', role: 'admin', token: undefined };
  return {
    type: actor.token ? 'token' : 'user',
    userId: actor.userId,
    name: actor.name,
    role: actor.role,
    token: actor.token,
  };
}

const asObject = (value: unknown): Readonly<Record<string, unknown>> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** The kind an undeclared route records, and the walk test refuses. */
export const undeclaredKind = (method: string, url: string): string => `undeclared ${method} ${url}`;

/**
 * Records every request to a management route that changes something (POST, PUT, PATCH, DELETE),
 * once, just before its answer is sent: so a client that has the answer finds the entry. A request
 * that carried no credential at all (outside signing in) acted as no one and is not recorded, nor
 * an address refused by the throttle of failed authentications (429): these bound how fast an
 * anonymous client can grow the log. A failure to write is logged; the answer still goes out.
 */
export function recordManagementActions(app: FastifyInstance, audit: AuditService): void {
  const answers = new WeakMap<FastifyRequest, unknown>();
  const recorded = new WeakSet<FastifyRequest>();

  app.addHook('preSerialization', async (request, _reply, payload) => {
    if (unsafeMethods.has(request.method)) answers.set(request, payload);
    return payload;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (!unsafeMethods.has(request.method) || recorded.has(request)) return payload;
    const url = request.routeOptions.url;
    // No route: the not-found answer, which is no action.
    if (url === undefined) return payload;
    const status = reply.statusCode;
    if (status === 429) return payload;
    const declaration = request.routeOptions.config.audit;
    const actor = auditActorOf(request.actor);
    const credentials = bearerToken(request) !== undefined || sessionCookie(request) !== undefined;
    if (actor.type === 'anonymous' && !credentials && !declaration?.anonymous) return payload;
    recorded.add(request);
    const answer = asObject(answers.get(request));
    const failed = status >= 400;
    const seen: AuditSeen = {
      params: asObject(request.params),
      query: asObject(request.query),
      body: asObject(request.body),
      answer: failed ? {} : answer,
    };
    try {
      await audit.record({
        actor,
        address: request.ip,
        kind: declaration?.kind ?? undeclaredKind(request.method, url),
        target: declaration?.target?.(seen),
        result: {
          outcome: failed ? 'failure' : 'success',
          status,
          code: failed ? (text(asObject(answer['error'])['code']) ?? 'unknown') : undefined,
        },
        details: { ...declaration?.details?.(seen), ...request.auditDetails },
      });
    } catch (error) {
      request.log.error({ err: error, kind: declaration?.kind }, 'writing the audit entry failed');
    }
    return payload;
  });
}

/** `force` of the query string, for deletes that may cascade. */
export const forced = (seen: AuditSeen): AuditDetails => ({ force: seen.query['force'] === true });

/**
 * The route's schema for the OpenAPI document, with the kind its audit entries have as
 * `x-audit-kind` (on routes that change something): the OpenAPI walk test reads it there.
 */
export function withAuditKind<T>(schema: T, route: { method: string | string[]; config?: unknown }): T {
  const kind = (route.config as { audit?: AuditDeclaration } | undefined)?.audit?.kind;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (kind === undefined || !methods.some((method) => unsafeMethods.has(method))) return schema;
  return { ...schema, 'x-audit-kind': kind };
}
