import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { HttpLimits } from '../config/index.js';
import { TitleCaseResponse } from './title-case-response.js';

export type { HttpLimits };

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route reads its body as a stream that may take long (a firmware upload): no deadline for
     * the whole body, only the idle timeout, so it must keep sending.
     */
    streamsBody?: boolean;
  }
}

/**
 * The node:http server under Fastify, with the limits a server on the internet needs: a share of
 * the process's file descriptors (`maxConnections`; a socket past it is closed at once), a deadline
 * for the headers, an idle timeout while a request or its answer is under way, and a keep-alive
 * timeout between requests. The deadline for a body depends on the route (`useBodyDeadlines`), so
 * node's own whole-request timeout is off. `onLimitReached` runs for each socket closed past the limit.
 */
export function createLimitedServer(handler: RequestListener, limits: HttpLimits, onLimitReached: () => void): Server {
  const server = createServer(
    {
      ServerResponse: TitleCaseResponse,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often node looks for connections past the header deadline.
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  // node closes a socket past `maxConnections` at once and says so with 'drop'.
  server.on('drop', onLimitReached);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.setTimeout(limits.idleTimeoutMs);
  return server;
}

/**
 * Per-route deadlines for receiving a body once the headers are in: the MCS device API's tiny
 * requests get `deviceRequestTimeoutMs`, everything else `requestTimeoutMs`, and routes that stream
 * their body (`streamsBody`) none. Past the deadline the client gets 408 and the connection closes.
 * Any answer sent before the body was read whole (a 401 before an upload, a 408, a refused form)
 * closes the connection too, instead of reading the rest of a body nobody wants.
 */
export function useBodyDeadlines(app: FastifyInstance, limits: HttpLimits): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.complete || request.routeOptions.config.streamsBody === true) return;
    // By the route, not the URL: devices may send `//mcs/v2/…`.
    const device = request.routeOptions.url?.startsWith('/mcs/') === true;
    const deadlineMs = device ? limits.deviceRequestTimeoutMs : limits.requestTimeoutMs;
    const timer = setTimeout(() => {
      if (request.raw.complete || reply.sent || reply.raw.headersSent) return;
      request.log.info({ deadlineMs }, 'request body not received in time');
      // Through the error handler of the route's API, so a device gets an MCS envelope.
      void reply.header('connection', 'close').send(requestTimeout(deadlineMs));
    }, deadlineMs);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
  });

  app.addHook('onSend', async (request, reply) => {
    if (request.raw.complete) return;
    void reply.header('connection', 'close');
    lingerBeforeClosing(request.raw.socket);
  });
}

/** How long a connection closed after an early answer keeps reading what the client still sends. */
const LINGER_MS = 2000;

/**
 * Closing a socket while the client is still sending makes the kernel answer with a reset, and a
 * client that gets the reset before it has read the answer loses the answer (a 401 becomes "the
 * connection closed"). So, as nginx's lingering close does, the server ends its side after the
 * answer, goes on reading and dropping what arrives, and destroys the socket when the client closes
 * or after `LINGER_MS`. node:http calls `destroySoon` once a `Connection: close` answer is sent.
 */
function lingerBeforeClosing(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}

function requestTimeout(deadlineMs: number): Error {
  const error = new Error(`the request body did not arrive within ${deadlineMs / 1000} s`) as Error & {
    statusCode: number;
  };
  error.statusCode = 408;
  return error;
}
