import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';

/**
 * Fastify names headers in lower case (`content-length`), which HTTP allows, but the LinkIt 7697
 * Arduino library finds a response body only through an exact `Content-Length: ` line. This response
 * class writes every header name in canonical Title-Case, as most servers do.
 */
export class TitleCaseResponse extends ServerResponse<IncomingMessage> {
  override setHeader(name: string, value: number | string | readonly string[]): this {
    return super.setHeader(canonicalName(name), value);
  }

  override writeHead(
    statusCode: number,
    reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    maybeHeaders?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    if (typeof reasonOrHeaders === 'string') {
      return super.writeHead(statusCode, reasonOrHeaders, titleCase(maybeHeaders));
    }
    return super.writeHead(statusCode, titleCase(reasonOrHeaders));
  }
}

function titleCase<T>(headers: T): T {
  if (headers === undefined || headers === null || Array.isArray(headers)) return headers;
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
    out[canonicalName(name)] = value;
  }
  return out as T;
}

const cache = new Map<string, string>();

export function canonicalName(name: string): string {
  let canonical = cache.get(name);
  if (canonical === undefined) {
    canonical =
      name.toLowerCase() === 'etag'
        ? 'ETag'
        : name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
    if (cache.size < 1000) cache.set(name, canonical);
  }
  return canonical;
}
