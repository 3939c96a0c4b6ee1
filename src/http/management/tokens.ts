import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ApiToken as ApiTokenRecord } from '../../domain/model.js';
import type { HttpServices } from '../services.js';
import {
  ApiToken,
  ApiTokenCreate,
  ApiTokenCreated,
  ApiTokenParams,
  commonErrors,
  type ApiTokenBody,
} from '../../contract/schemas.js';
import { answered, bodyFields, param } from './audit-recorder.js';

const tags = ['tokens'];

const presentToken = (token: ApiTokenRecord): ApiTokenBody => ({
  tokenId: token.id,
  name: token.name,
  role: token.role,
  userId: token.userId ?? null,
  createdAt: token.createdAt.toISOString(),
  lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
});

/** `/api/v1/tokens`: API tokens, each acting with a role no higher than its creator's. */
export const tokenRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  app.get(
    '/tokens',
    {
      schema: {
        tags,
        summary: 'List API tokens',
        description: "Your own tokens; an admin's list holds every user's.",
        response: { 200: Type.Array(ApiToken), ...commonErrors },
      },
    },
    async (request) => (await services.accounts.listTokens(request.actor)).map(presentToken),
  );

  app.post(
    '/tokens',
    {
      // The token itself is in the answer only: the entry keeps its id, name and role.
      config: {
        audit: { kind: 'token.create', target: answered('token', 'tokenId'), details: bodyFields('name', 'role') },
      },
      schema: {
        tags,
        summary: 'Create an API token',
        description:
          'The answer holds `token`, shown only this once (only its SHA-256 is stored); send it as `Authorization: Bearer <token>`. A role higher than yours is refused (403).',
        body: ApiTokenCreate,
        response: { 201: ApiTokenCreated, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { token, secret } = await services.accounts.createToken(request.actor, request.body);
      return reply.code(201).send({ ...presentToken(token), token: secret });
    },
  );

  app.delete(
    '/tokens/:tokenId',
    {
      config: { audit: { kind: 'token.revoke', target: param('token', 'tokenId') } },
      schema: {
        tags,
        summary: 'Revoke an API token',
        description: 'It stops working at once.',
        params: ApiTokenParams,
        response: { 204: Type.Null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      await services.accounts.revokeToken(request.actor, request.params.tokenId);
      return reply.code(204).send(null);
    },
  );
};
