import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../domain/errors.js';
import { httpStatusOf } from './error-codes.js';

export interface HttpError {
  readonly status: number;
  /** A domain error code, or a transport one for what never reached the domain. */
  readonly code: string;
  readonly message: string;
}

const transportCodes: Record<number, string> = {
  400: 'invalid_input',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'invalid_input',
  408: 'timeout',
  411: 'invalid_input',
  413: 'too_large',
  414: 'invalid_input',
  415: 'unsupported_media_type',
  431: 'invalid_input',
};

/**
 * One reading of any error for both HTTP adapters: domain errors through their table, Fastify and
 * plugin errors (validation, body limits, multipart limits) by their status, everything else a 500
 * whose detail is only logged.
 */
export function toHttpError(error: unknown): HttpError {
  if (isDomainError(error)) return { status: httpStatusOf[error.code], code: error.code, message: error.message };
  const candidate = error as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown };
  if (candidate?.code === 'FST_REQ_FILE_TOO_LARGE') {
    return { status: 413, code: 'too_large', message: 'the firmware is larger than the configured limit' };
  }
  if (candidate?.validation !== undefined) {
    return { status: 400, code: 'invalid_input', message: String(candidate.message) };
  }
  const status = typeof candidate?.statusCode === 'number' ? candidate.statusCode : 500;
  if (status >= 400 && status < 500) {
    return {
      status: status === 406 ? 400 : status,
      code: transportCodes[status] ?? 'invalid_input',
      message: String(candidate.message),
    };
  }
  return { status: 500, code: 'internal', message: 'internal error; the server log has the details' };
}

/**
 * The error handler of the JSON routes (management API, downloads): `{"error":{"code","message"}}`
 * with the status of `toHttpError`, a 500 logged with its detail.
 */
export function jsonErrorHandler(what: string) {
  return async (error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const answer = toHttpError(error);
    if (answer.status >= 500) request.log.error({ err: error }, `${what} failed`);
    if (answer.status === 401) void reply.header('www-authenticate', 'Bearer realm="fota"');
    return reply.code(answer.status).send({ error: { code: answer.code, message: answer.message } });
  };
}
