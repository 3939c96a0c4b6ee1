import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireRole } from '../../domain/access.js';
import { packageVersion } from '../../version.js';
import type { HttpServices } from '../services.js';
import { commonErrors, ServerInfo, type ServerInfoBody } from '../../contract/schemas.js';

/**
 * `GET /api/v1/server`: the server's version and where devices reach it, so that a tool (the
 * simulator, a provisioning script) finds the TCP and MQTT ports without being told them again.
 * MCS has no such call for MQTT: its devices had the broker's address built in.
 */
export const serverInfoRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  app.get(
    '/server',
    {
      schema: {
        tags: ['server'],
        summary: 'The server version and the public addresses devices connect to',
        response: { 200: ServerInfo, ...commonErrors },
      },
    },
    async (request): Promise<ServerInfoBody> => {
      requireRole(request.actor, 'viewer');
      const { publicUrl, tcp, mqtt } = services.endpoints();
      return { version: packageVersion, publicUrl, tcp: { ...tcp }, mqtt: { ...mqtt } };
    },
  );
};
