import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

/**
 * Bodies are validated strictly: an unknown field or a value of the wrong type is refused, never
 * dropped or converted. Query strings and path parameters arrive as text, so they are coerced.
 */
export function useStrictBodies(app: FastifyInstance): void {
  const strict = addFormats.default(
    new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false }),
  );
  const textual = addFormats.default(
    new Ajv({ coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false }),
  );
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : textual).compile(schema));
}
