import { createServer, type Server, type Socket } from 'node:net';
import type { FailureThrottle } from '../../net/auth-throttle.js';
import { acceptProxyHeaders, type ProxyProtocolSetting } from '../../net/proxy-gate.js';
import type { SocketBudget } from '../../net/socket-budget.js';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { DeviceConnections } from '../../domain/services/connections.js';
import type { DeviceSelfService } from '../../domain/services/device-self.js';
import { HeartbeatDeadlines } from './heartbeat-deadlines.js';
import { TcpSession } from './session.js';

export { formatTcpFota, MAX_TCP_LINE_BYTES } from './fota-line.js';

export interface TcpCommandServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** A connection without a valid heartbeat for this long is closed, before the first one too. */
  readonly heartbeatTimeoutMs: number;
  /** Echo each valid heartbeat back, as MCS did. */
  readonly echoHeartbeat: boolean;
  /** The least time between two messages written to one device (see SessionContext). */
  readonly writeGapMs: number;
  readonly deviceSelf: Pick<DeviceSelfService, 'authenticate'>;
  readonly connections: Pick<DeviceConnections, 'attach' | 'detach' | 'touch'>;
  readonly logger: FastifyBaseLogger;
  /** Device sockets shared with the MQTT broker; none means no limit but the process's. */
  readonly budget?: SocketBudget | undefined;
  /** Failed authentication per source address, shared with the other surfaces. */
  readonly throttle?: FailureThrottle | undefined;
  /** Set: connections from the trusted balancers start with a PROXY header (`FOTA_PROXY_PROTOCOL`). */
  readonly proxyProtocol?: ProxyProtocolSetting | undefined;
}

export interface TcpCommandServer {
  /** The port it listens on. */
  port(): number;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
  /** Open connections, identified or not. */
  connectionCount(): number;
}

/** The sweep runs a few times per timeout, at most once a second. */
const sweepIntervalMs = (timeoutMs: number): number => Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4)));

/**
 * The MCS TCP command server: devices connect, identify themselves with heartbeats
 * `deviceId,deviceKey,timestamp`, and receive FOTA commands on the same connection.
 */
export async function startTcpCommandServer(options: TcpCommandServerOptions): Promise<TcpCommandServer> {
  const { logger } = options;
  const sessions = new Set<TcpSession>();
  const deadlines = new HeartbeatDeadlines<TcpSession>(options.heartbeatTimeoutMs);
  /** Set by `close()` while it waits for the last connections to close. */
  let drained: (() => void) | undefined;
  const context = {
    echoHeartbeat: options.echoHeartbeat,
    writeGapMs: options.writeGapMs,
    deviceSelf: options.deviceSelf,
    connections: options.connections,
    logger,
    throttle: options.throttle,
    identified: (socket: Socket) => options.budget?.identified(socket),
    heartbeat: (session: TcpSession) => deadlines.refresh(session, performance.now()),
    closed: (session: TcpSession) => {
      sessions.delete(session);
      deadlines.remove(session);
      if (sessions.size === 0) drained?.();
    },
  };

  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (options.budget && !options.budget.admit(socket)) return;
    const session = new TcpSession(socket, context);
    sessions.add(session);
    deadlines.refresh(session, performance.now());
  });
  if (options.proxyProtocol) {
    acceptProxyHeaders(server, { ...options.proxyProtocol, logger, listener: 'tcp', screenDirect: true });
  }
  server.on('error', (error) => logger.error({ err: error }, 'tcp command server error'));

  const sweep = setInterval(() => {
    for (const session of deadlines.expire(performance.now())) session.close('no valid heartbeat in time');
  }, sweepIntervalMs(options.heartbeatTimeoutMs));
  sweep.unref();

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Devices reconnect all at once after an outage (mcs.c loops with no back-off): a long accept
      // queue (the kernel caps it at net.core.somaxconn) keeps their connections from being dropped.
      server.listen({ port: options.port, host: options.host, backlog: 4096 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    clearInterval(sweep);
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ host: options.host, port }, 'tcp command server listening');

  let closing: Promise<void> | undefined;
  return {
    port: () => port,
    connectionCount: () => sessions.size,
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const ended = new Promise<void>((resolve) => {
          drained = resolve;
          if (sessions.size === 0) resolve();
        });
        for (const session of sessions) session.close('server shutting down');
        await Promise.all([stopped, ended]);
        logger.info({ port }, 'tcp command server closed');
      })();
      return closing;
    },
  };
}
