import type { Multipart, MultipartFile } from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { type DomainError, invalid, isDomainError } from '../../domain/errors.js';
import type { Actor, Firmware as FirmwareRecord } from '../../domain/model.js';
import { parsePrerequisites } from '../../domain/prerequisites.js';
import type { HttpServices } from '../services.js';
import { presentFirmware } from './present.js';
import {
  commonErrors,
  ErrorBody,
  Firmware,
  FirmwareParams,
  FirmwarePatch,
  ForceQuery,
  PrototypeParams,
} from '../../contract/schemas.js';
import { answered, bodyFields, either, forced, param } from './audit-recorder.js';

const tags = ['firmwares'];
const TEXT_FIELDS = new Set(['name', 'version', 'releaseNote', 'checksum', 'prerequisites']);

/** The multipart form of an upload, for the OpenAPI document only: the route reads it as a stream. */
export const FirmwareUploadForm = Type.Object({
  name: Type.String({ description: 'Firmware name' }),
  version: Type.String({ description: '1-32 printable characters, no comma, no whitespace; unique in the prototype' }),
  releaseNote: Type.Optional(Type.String()),
  checksum: Type.Optional(Type.String({ description: 'MD5 in hex; the upload is refused when the file differs' })),
  prerequisites: Type.Optional(Type.String({ description: '`all` (default), or firmware ids separated by commas' })),
  file: Type.String({ format: 'binary', description: 'The firmware file; send it after every other field' }),
});

export const firmwareRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  const present = (firmware: FirmwareRecord) => presentFirmware(firmware, services.firmwareUrl(firmware.id));

  app.post(
    '/prototypes/:pid/firmwares',
    {
      config: {
        streamsBody: true,
        // The form's name and version come through request.auditDetails (the body is a stream).
        audit: { kind: 'firmware.upload', target: either(answered('firmware', 'fwId'), param('prototype', 'pid')) },
      },
      schema: {
        tags,
        summary: 'Upload a firmware',
        description:
          'multipart/form-data with the fields `name`, `version`, `releaseNote`, `checksum`, `prerequisites`, then the file part `file`: every field must come before the file, and a field after it refuses the upload. The file is streamed to disk and hashed on the way; nothing is kept when the upload fails. 201 for a new firmware; 200 with the stored firmware for a retry of the same upload (same version, bytes, name, release note, prerequisites and file name); 409 for the same version with anything else different.',
        consumes: ['multipart/form-data'],
        params: PrototypeParams,
        response: { 200: Firmware, 201: Firmware, ...commonErrors, 409: ErrorBody, 413: ErrorBody },
      },
    },
    async (request, reply) => {
      const { firmware, created } = await uploadFromMultipart(request, services, request.actor, request.params.pid);
      return reply.code(created ? 201 : 200).send(present(firmware));
    },
  );

  app.get(
    '/prototypes/:pid/firmwares',
    {
      schema: {
        tags,
        summary: "List a prototype's firmwares, sorted by version",
        params: PrototypeParams,
        response: { 200: Type.Array(Firmware), ...commonErrors },
      },
    },
    async (request) => (await services.firmwares.list(request.actor, request.params.pid)).map(present),
  );

  app.get(
    '/firmwares/:fwId',
    {
      schema: { tags, summary: 'Get a firmware', params: FirmwareParams, response: { 200: Firmware, ...commonErrors } },
    },
    async (request) => present(await services.firmwares.get(request.actor, request.params.fwId)),
  );

  app.patch(
    '/firmwares/:fwId',
    {
      config: { audit: { kind: 'firmware.update', target: param('firmware', 'fwId'), details: bodyFields('name') } },
      schema: {
        tags,
        summary: "Change a firmware's name, release note or prerequisites",
        params: FirmwareParams,
        body: FirmwarePatch,
        response: { 200: Firmware, ...commonErrors },
      },
    },
    async (request) => present(await services.firmwares.update(request.actor, request.params.fwId, request.body)),
  );

  app.delete(
    '/firmwares/:fwId',
    {
      config: { audit: { kind: 'firmware.delete', target: param('firmware', 'fwId'), details: forced } },
      schema: {
        tags,
        summary: 'Delete a firmware',
        description:
          'A firmware that a device runs or that another firmware lists as prerequisite answers 409 unless `force=true`.',
        params: FirmwareParams,
        querystring: ForceQuery,
        response: { 204: Type.Null(), ...commonErrors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      await services.firmwares.delete(request.actor, request.params.fwId, { force: request.query.force ?? false });
      return reply.code(204).send(null);
    },
  );
};

/** The fields without which an upload cannot start; they must come before the file part. */
const REQUIRED_FIELDS = ['name', 'version'] as const;

/**
 * Reads the text fields, then hands the file part to the service as a stream; the rest of the form
 * is read before the row is written, so a field sent after the file refuses the upload and leaves
 * nothing. A malformed body or a client that goes away is the client's fault: a 400, logged at info.
 */
async function uploadFromMultipart(
  request: FastifyRequest,
  services: HttpServices,
  actor: Actor,
  prototypeId: string,
): Promise<{ firmware: FirmwareRecord; created: boolean }> {
  try {
    return await readUpload(request, services, actor, prototypeId);
  } catch (error) {
    const refused = clientFault(request, error);
    if (refused === undefined) throw error;
    request.log.info({ reason: refused.message }, 'upload refused');
    throw refused;
  }
}

async function readUpload(
  request: FastifyRequest,
  services: HttpServices,
  actor: Actor,
  prototypeId: string,
): Promise<{ firmware: FirmwareRecord; created: boolean }> {
  if (!request.isMultipart()) throw invalid('a firmware upload is multipart/form-data');
  const fields = new Map<string, string>();
  const parts = request.parts()[Symbol.asyncIterator]();
  for (let next = await parts.next(); !next.done; next = await parts.next()) {
    const part = next.value;
    if (part.type === 'field') {
      if (!TEXT_FIELDS.has(part.fieldname)) throw invalid(`unknown field "${part.fieldname}"`);
      fields.set(part.fieldname, String(part.value));
      continue;
    }
    if (part.fieldname !== 'file')
      throw await refuse(part, `the file part must be named "file", not "${part.fieldname}"`);
    const missing = REQUIRED_FIELDS.find((name) => !fields.has(name));
    if (missing) throw await refuse(part, `${missing} is required, and every field must be sent before the file part`);
    request.auditDetails = { name: fields.get('name') ?? null, version: fields.get('version') ?? null };
    const prerequisites = fields.get('prerequisites');
    try {
      return await services.firmwares.store(
        actor,
        prototypeId,
        {
          name: fields.get('name') ?? '',
          version: fields.get('version') ?? '',
          releaseNote: fields.get('releaseNote'),
          checksum: fields.get('checksum'),
          prerequisites: prerequisites === undefined ? undefined : parsePrerequisites(prerequisites),
          fileName: part.filename,
        },
        part.file,
        { beforeCommit: () => nothingAfterTheFile(parts) },
      );
    } catch (error) {
      throw await drained(part, error);
    }
  }
  throw invalid('the file part "file" is missing');
}

/** Reads the form to its end: anything after the file part refuses the upload. */
async function nothingAfterTheFile(parts: AsyncIterator<Multipart>): Promise<void> {
  for (let next = await parts.next(); !next.done; next = await parts.next()) {
    const part = next.value;
    if (part.type === 'field') {
      throw invalid(
        `field "${part.fieldname}" was sent after the file part; every field must be sent before the file part`,
      );
    }
    throw await refuse(part, 'send one file only');
  }
}

/**
 * What the client did wrong, when the error is a malformed multipart body or a connection that
 * closed before the body was whole; undefined for anything else.
 */
function clientFault(request: FastifyRequest, error: unknown): DomainError | undefined {
  if (isDomainError(error)) return undefined;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (
    code === 'FST_MP_PREMATURE_CLOSE' ||
    code === 'ECONNRESET' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    (request.raw.destroyed && !request.raw.complete)
  ) {
    return invalid('the connection closed before the upload was complete');
  }
  if (typeof message !== 'string') return undefined;
  if (message === 'Multipart: Boundary not found') {
    return invalid('the multipart body has no boundary: Content-Type must be multipart/form-data; boundary=…');
  }
  if (/unexpected end of multipart data/i.test(message)) {
    return invalid(
      'the multipart body ended before its closing boundary: check that the boundary in Content-Type is the one the body uses and that the body is complete',
    );
  }
  if (/malformed part header|multipart/i.test(message)) return invalid(`the multipart body is malformed: ${message}`);
  return undefined;
}
/**
 * Reads and drops the rest of a file part that will not be stored, so the client, still sending,
 * gets the error answer instead of a broken connection.
 */
async function drained(part: MultipartFile, error: unknown): Promise<unknown> {
  if (!part.file.destroyed && !part.file.readableEnded) {
    part.file.resume();
    await new Promise<void>((resolve) => {
      part.file.once('end', resolve);
      part.file.once('close', resolve);
      part.file.once('error', () => resolve());
    });
  }
  return error;
}

const refuse = (part: MultipartFile, message: string): Promise<unknown> => drained(part, invalid(message));
