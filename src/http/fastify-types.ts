import type { Actor } from '../domain/model.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking, set by the adapter's authentication hook and checked again by every service. */
    actor: Actor;
    /** The session cookie's value, when the request was authenticated by it. */
    sessionSecret: string | undefined;
  }
}
