import type { MultipartFile } from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { invalid } from '../../domain/errors.js';
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
} from './schemas.js';

const tags = ['firmwares'];
const TEXT_FIELDS = new Set(['name', 'version', 'releaseNote', 'checksum', 'prerequisites']);

/** The multipart form of an upload, for the OpenAPI document only: the route reads it as a stream. */
export const FirmwareUploadForm = Type.Object({
  name: Type.String({ description: 'Firmware name' }),
  version: Type.String({ description: '1-32 printable characters, no comma, no whitespace; unique in the prototype' }),
  releaseNote: Type.Optional(Type.String()),
  checksum: Type.Optional(Type.String({ description: 'MD5 in hex; the upload is refused when the file differs' })),
  prerequisites: Type.Optional(Type.String({ description: '`all` (default), or firmware ids separated by commas' })),
  file: Type.String({ format: 'binary', description: 'The firmware file; send it after the other fields' }),
});

export const firmwareRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  const present = (firmware: FirmwareRecord) => presentFirmware(firmware, services.firmwareUrl(firmware.id));

  app.post(
    '/prototypes/:pid/firmwares',
    {
      schema: {
        tags,
        summary: 'Upload a firmware',
        description:
          'multipart/form-data with the fields `name`, `version`, `releaseNote`, `checksum`, `prerequisites`, then the file part `file`. The file is streamed to disk and hashed on the way; nothing is kept when the upload fails.',
        consumes: ['multipart/form-data'],
        params: PrototypeParams,
        response: { 201: Firmware, ...commonErrors, 409: ErrorBody, 413: ErrorBody },
      },
    },
    async (request, reply) => {
      const firmware = await uploadFromMultipart(request, services, request.actor, request.params.pid);
      return reply.code(201).send(present(firmware));
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

/** Reads the text fields, then hands the file part to the service as a stream. */
async function uploadFromMultipart(
  request: FastifyRequest,
  services: HttpServices,
  actor: Actor,
  prototypeId: string,
): Promise<FirmwareRecord> {
  if (!request.isMultipart()) throw invalid('a firmware upload is multipart/form-data');
  const fields = new Map<string, string>();
  let firmware: FirmwareRecord | undefined;
  for await (const part of request.parts()) {
    if (part.type === 'field') {
      if (!TEXT_FIELDS.has(part.fieldname)) throw invalid(`unknown field "${part.fieldname}"`);
      if (firmware) throw invalid('send the fields before the file part');
      fields.set(part.fieldname, String(part.value));
      continue;
    }
    if (part.fieldname !== 'file')
      throw await refuse(part, `the file part must be named "file", not "${part.fieldname}"`);
    if (firmware) throw await refuse(part, 'send one file only');
    const prerequisites = fields.get('prerequisites');
    try {
      firmware = await services.firmwares.upload(
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
      );
    } catch (error) {
      throw await drained(part, error);
    }
  }
  if (!firmware) throw invalid('the file part "file" is missing');
  return firmware;
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
