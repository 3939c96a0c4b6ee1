import type { FastifyRequest } from 'fastify';

/**
 * The `deviceKey` header as real clients send it: any case (Node lowers names), `deviceKey:KEY`
 * without a space (HTTP allows it), and, from one Arduino library release, in quotes.
 */
export function deviceKeyOf(request: FastifyRequest): string | undefined {
  const raw = request.headers['devicekey'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  return unquote(value.trim());
}

export function unquote(value: string): string {
  const first = value[0];
  if (value.length >= 2 && (first === '"' || first === "'") && value[value.length - 1] === first) {
    return value.slice(1, -1).trim();
  }
  return value;
}
