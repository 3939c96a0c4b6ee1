import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { User as UserRecord } from '../../domain/model.js';
import type { HttpServices } from '../services.js';
import {
  commonErrors,
  ErrorBody,
  User,
  UserCreate,
  UserParams,
  UserPatch,
  type UserBody,
} from '../../contract/schemas.js';
import { answered, bodyFields, either, fromBody, param } from './audit-recorder.js';

const tags = ['users'];

export const presentUser = (user: UserRecord): UserBody => ({
  userId: user.id,
  email: user.email,
  role: user.role,
  createdAt: user.createdAt.toISOString(),
});

/** `/api/v1/users`: the people who sign in to the console; admins only. */
export const userRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  app.get(
    '/users',
    { schema: { tags, summary: 'List users', response: { 200: Type.Array(User), ...commonErrors } } },
    async (request) => (await services.accounts.listUsers(request.actor)).map(presentUser),
  );

  app.post(
    '/users',
    {
      config: {
        audit: {
          kind: 'user.create',
          target: either(
            answered('user', 'userId'),
            fromBody('user', 'email', (email) => email.trim().toLowerCase()),
          ),
          details: bodyFields('email', 'role'),
        },
      },
      schema: {
        tags,
        summary: 'Create a user',
        description: 'The email is kept in lowercase; the password (10 characters or more) as a scrypt hash.',
        body: UserCreate,
        response: { 201: User, 409: ErrorBody, ...commonErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(presentUser(await services.accounts.createUser(request.actor, request.body))),
  );

  app.patch(
    '/users/:userId',
    {
      config: {
        audit: {
          kind: 'user.update',
          target: param('user', 'userId'),
          details: (seen) => ({ ...bodyFields('role')(seen), passwordChanged: seen.body['password'] !== undefined }),
        },
      },
      schema: {
        tags,
        summary: "Change a user's role or password",
        description: "A new password ends the user's other sessions. The last admin keeps the role (409).",
        params: UserParams,
        body: UserPatch,
        response: { 200: User, 409: ErrorBody, ...commonErrors },
      },
    },
    async (request) =>
      presentUser(
        await services.accounts.updateUser(request.actor, request.params.userId, request.body, request.sessionSecret),
      ),
  );

  app.delete(
    '/users/:userId',
    {
      config: { audit: { kind: 'user.delete', target: param('user', 'userId') } },
      schema: {
        tags,
        summary: 'Delete a user',
        description: 'Their sessions and API tokens stop working at once. The last admin cannot be deleted (409).',
        params: UserParams,
        response: { 204: Type.Null(), 409: ErrorBody, ...commonErrors },
      },
    },
    async (request, reply) => {
      await services.accounts.deleteUser(request.actor, request.params.userId);
      return reply.code(204).send(null);
    },
  );
};
