import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HttpServices } from '../services.js';
import { presentPrototype } from './present.js';
import {
  commonErrors,
  ErrorBody,
  ForceQuery,
  Prototype,
  PrototypeCreate,
  PrototypeParams,
  PrototypePatch,
} from '../../contract/schemas.js';
import { answered, bodyFields, forced, param } from './audit-recorder.js';

const tags = ['prototypes'];

export const prototypeRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  app.post(
    '/prototypes',
    {
      config: {
        audit: {
          kind: 'prototype.create',
          target: answered('prototype', 'prototypeId'),
          details: bodyFields('name', 'versionPolicy', 'board'),
        },
      },
      schema: {
        tags,
        summary: 'Create a prototype',
        body: PrototypeCreate,
        response: { 201: Prototype, ...commonErrors },
      },
    },
    async (request, reply) => {
      const prototype = await services.prototypes.create(request.actor, request.body);
      return reply.code(201).send(presentPrototype(prototype));
    },
  );

  app.get(
    '/prototypes',
    { schema: { tags, summary: 'List prototypes', response: { 200: Type.Array(Prototype), ...commonErrors } } },
    async (request) => (await services.prototypes.list(request.actor)).map(presentPrototype),
  );

  app.get(
    '/prototypes/:pid',
    {
      schema: {
        tags,
        summary: 'Get a prototype',
        params: PrototypeParams,
        response: { 200: Prototype, ...commonErrors },
      },
    },
    async (request) => presentPrototype(await services.prototypes.get(request.actor, request.params.pid)),
  );

  app.patch(
    '/prototypes/:pid',
    {
      config: {
        audit: {
          kind: 'prototype.update',
          target: param('prototype', 'pid'),
          details: bodyFields('name', 'versionPolicy'),
        },
      },
      schema: {
        tags,
        summary: 'Change a prototype',
        description:
          'Switching to the `increasing` policy needs versions that already increase in upload order (409 otherwise).',
        params: PrototypeParams,
        body: PrototypePatch,
        response: { 200: Prototype, ...commonErrors, 409: ErrorBody },
      },
    },
    async (request) =>
      presentPrototype(await services.prototypes.update(request.actor, request.params.pid, request.body)),
  );

  app.delete(
    '/prototypes/:pid',
    {
      config: { audit: { kind: 'prototype.delete', target: param('prototype', 'pid'), details: forced } },
      schema: {
        tags,
        summary: 'Delete a prototype',
        description: 'A prototype with devices or firmwares answers 409 unless `force=true`, which deletes them too.',
        params: PrototypeParams,
        querystring: ForceQuery,
        response: { 204: Type.Null(), ...commonErrors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      await services.prototypes.delete(request.actor, request.params.pid, { force: request.query.force ?? false });
      return reply.code(204).send(null);
    },
  );
};
