import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { isDomainError } from '../../domain/errors.js';
import type { DeviceSelfService } from '../../domain/services/device-self.js';
import type { FailureThrottle } from '../../net/auth-throttle.js';
import { peerAddress } from '../../net/peer.js';
import { acceptProxyHeaders, type ProxyProtocolSetting } from '../../net/proxy-gate.js';
import { deviceKeyBytes } from './crypto.js';
import { connectAnswer, provesDevice } from './discovery-token.js';

/** The board's header buffer is 200 bytes (§4.2): requests are short; anything longer is refused. */
export const MAX_DISCOVERY_HEADER_BYTES = 2048;
const CONNECT_PATH = /^\/devcloud\/device\/([\x21-\x7e]{8})\/connect\/([0-9a-fA-F]{64})$/;

export interface DiscoveryOptions {
  readonly host: string;
  /** 0 picks a free port; real boards always use 80. */
  readonly port: number;
  /** Where boards are sent: an IPv4 address and a port of 1 to 999. */
  readonly commandServer: { readonly host: string; readonly port: number };
  readonly deviceSelf: Pick<DeviceSelfService, 'authenticateByProof'>;
  readonly logger: FastifyBaseLogger;
  readonly throttle?: FailureThrottle | undefined;
  readonly maxConnections: number;
  readonly headersTimeoutMs: number;
  /** Other routes on this port (the firmware downloads, which boards fetch from port 80 too). */
  readonly fallback?: (request: IncomingMessage, response: ServerResponse) => boolean;
  /** Set: connections from the trusted balancers start with a PROXY header (`FOTA_PROXY_PROTOCOL`). */
  readonly proxyProtocol?: ProxyProtocolSetting | undefined;
}

export interface DiscoveryServer {
  port(): number;
  close(): Promise<void>;
}

/**
 * The 7681 discovery endpoint (protocol spec §4): `GET /devcloud/device/<id>/connect/<hex>`, where
 * the token decrypts with the device's key to `<id>,1,2`. The answer is the command server's
 * `<ip>,<port>,` encrypted with that key, in hex, in one write, and the connection closes. An
 * unknown device, a token that does not prove the key, or any other request gets an empty body
 * (the board then just retries in 80 s): 403 for a refused device, 404 for another path, 405 for
 * another method, 429 for an address over the failed-authentication limit.
 */
export async function startDiscoveryServer(options: DiscoveryOptions): Promise<DiscoveryServer> {
  const { logger, throttle } = options;
  const server: Server = createServer({ maxHeaderSize: MAX_DISCOVERY_HEADER_BYTES }, (request, response) => {
    void handle(request, response).catch((error: unknown) => {
      logger.error({ err: error }, 'linkit7681 discovery failed');
      empty(response, 500);
    });
  });
  server.maxConnections = options.maxConnections;
  server.headersTimeout = options.headersTimeoutMs;
  server.requestTimeout = options.headersTimeoutMs;
  server.keepAliveTimeout = 1;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (options.fallback?.(request, response)) return;
    const match = CONNECT_PATH.exec(request.url ?? '');
    if (!match) return empty(response, 404);
    if (request.method !== 'GET') return empty(response, 405);
    const [, deviceId, token] = match as unknown as [string, string, string];
    const remote = peerAddress(request.socket);
    if (throttle && throttle.retryAfterMs(remote) > 0) return empty(response, 429);
    let key: Buffer | undefined;
    try {
      const actor = await options.deviceSelf.authenticateByProof(
        deviceId,
        (candidate) => {
          const bytes = deviceKeyBytes(candidate);
          return bytes !== undefined && provesDevice(bytes, deviceId, token);
        },
        'linkit7681',
      );
      key = deviceKeyBytes(actor.key);
    } catch (error) {
      if (!isDomainError(error, 'not_found') && !isDomainError(error, 'unauthenticated')) throw error;
      throttle?.failed(remote);
      logger.info({ deviceId, remote, reason: error.code }, 'linkit7681 discovery refused');
      return empty(response, 403);
    }
    const body = connectAnswer(key!, options.commandServer.host, options.commandServer.port);
    logger.debug({ deviceId, remote }, 'linkit7681 discovery answered');
    // One write, status 200, then close: the board decodes each segment's body on its own.
    response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length, Connection: 'close' });
    response.end(body);
  }

  if (options.proxyProtocol) {
    const gate = { ...options.proxyProtocol, logger, listener: 'linkit7681 discovery', screenDirect: false };
    acceptProxyHeaders(server, gate);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ host: options.host, port }, 'linkit7681 discovery server listening');
  return {
    port: () => port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A status with no body: the board runs no callback without one (§4.2). */
function empty(response: ServerResponse, status: number): void {
  if (response.headersSent) return void response.destroy();
  response.writeHead(status, { 'Content-Length': 0, Connection: 'close' });
  response.end();
}
