import { createServer, type Server, type Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { FailureThrottle } from '../../net/auth-throttle.js';
import type { SocketBudget } from '../../net/socket-budget.js';
import { acceptProxyHeaders, type ProxyProtocolSetting } from '../../net/proxy-gate.js';
import { LinkitSession, type SessionContext } from './session.js';

export interface LinkitCommandServerOptions extends Pick<
  SessionContext,
  | 'deviceSelf'
  | 'connections'
  | 'logger'
  | 'identifyTimeoutMs'
  | 'idleTimeoutMs'
  | 'writeGapMs'
  | 'command'
  | 'fotaAnswered'
> {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly budget?: SocketBudget | undefined;
  readonly throttle?: FailureThrottle | undefined;
  readonly logger: FastifyBaseLogger;
  /** Set: connections from the trusted balancers start with a PROXY header (`FOTA_PROXY_PROTOCOL`). */
  readonly proxyProtocol?: ProxyProtocolSetting | undefined;
}

export interface LinkitCommandServer {
  port(): number;
  close(): Promise<void>;
  connectionCount(): number;
  /** The newest session of a device. */
  session(deviceId: string): LinkitSession | undefined;
}

/** The LinkIt Connect 7681 command server (protocol spec §5): boards connect here after discovery. */
export async function startLinkitCommandServer(options: LinkitCommandServerOptions): Promise<LinkitCommandServer> {
  const { logger } = options;
  const sessions = new Set<LinkitSession>();
  let drained: (() => void) | undefined;
  const context: SessionContext = {
    ...options,
    identified: (socket: Socket) => options.budget?.identified(socket),
    closed: (session) => {
      sessions.delete(session);
      if (sessions.size === 0) drained?.();
    },
  };
  // TCP_NODELAY: each frame leaves in its own segment (§5.2).
  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (options.budget && !options.budget.admit(socket)) return;
    sessions.add(new LinkitSession(socket, context));
  });
  if (options.proxyProtocol) {
    acceptProxyHeaders(server, { ...options.proxyProtocol, logger, listener: 'linkit7681', screenDirect: true });
  }
  server.on('error', (error) => logger.error({ err: error }, 'linkit7681 command server error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ host: options.host, port }, 'linkit7681 command server listening');

  let closing: Promise<void> | undefined;
  return {
    port: () => port,
    connectionCount: () => sessions.size,
    session(deviceId) {
      let newest: LinkitSession | undefined;
      for (const session of sessions) if (session.device === deviceId) newest = session;
      return newest;
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const ended = new Promise<void>((resolve) => {
          drained = resolve;
          if (sessions.size === 0) resolve();
        });
        for (const session of sessions) session.close('server shutting down');
        await Promise.all([stopped, ended]);
      })();
      return closing;
    },
  };
}
