import type { Server, Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { adoptPeer } from './peer.js';
import { parseProxyHeader, proxySignature } from './proxy-protocol.js';
import type { TrustedProxies } from './trusted-proxies.js';

/** The listeners that may expect a PROXY header (`FOTA_PROXY_PROTOCOL`). */
export const PROXY_LISTENERS = ['tcp', 'mqtt', 'linkit7681', 'http'] as const;
export type ProxyListener = (typeof PROXY_LISTENERS)[number];

/** What a listener that expects PROXY headers is told (`FOTA_TRUSTED_PROXIES`, `FOTA_PROXY_HEADER_TIMEOUT_S`). */
export interface ProxyProtocolSetting {
  /** The balancers (`FOTA_TRUSTED_PROXIES`). */
  readonly trusted: TrustedProxies;
  /** How long a trusted connection may take to send its whole header. */
  readonly headerTimeoutMs: number;
}

export interface ProxyGateOptions extends ProxyProtocolSetting {
  readonly logger: FastifyBaseLogger;
  /** The listener's name, for the logs. */
  readonly listener: string;
  /**
   * Whether a direct connection is refused when its first bytes are a PROXY signature. Off for
   * node:http, whose parser reads the socket without passing the bytes through JavaScript (and
   * answers such a request line with 400 itself).
   */
  readonly screenDirect: boolean;
}

/**
 * Makes a listener take PROXY headers (v1 or v2) from the trusted balancers, as HAProxy's
 * `accept-proxy` does: every connection from a balancer must start with a valid header, read
 * whole within `headerTimeoutMs` and the parser's byte bounds, before the listener's own
 * connection handlers see the socket, with the header's source as its remote address and the bytes
 * after the header back in front of its stream. A missing, malformed, oversized or late header
 * closes the connection, logged with the reason, and counts as nothing else (no failed
 * authentication, no place in the socket budget). A connection from anywhere else is direct and
 * handed over at once; one that starts with a PROXY signature is refused: only a balancer may name
 * another address. Call after the connection handler is registered (`createServer(handler)`) and
 * before `listen`.
 */
export function acceptProxyHeaders(server: Server, options: ProxyGateOptions): void {
  if (options.trusted.empty) return;
  const handlers = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const handOver = (socket: Socket) => {
    for (const handler of handlers) handler.call(server, socket);
  };
  server.on('connection', (socket: Socket) => {
    if (options.trusted.has(socket.remoteAddress)) {
      readHeader(socket, options, handOver);
    } else {
      if (options.screenDirect) refuseSignature(socket, options);
      handOver(socket);
    }
  });
}

function readHeader(socket: Socket, options: ProxyGateOptions, handOver: (socket: Socket) => void): void {
  const { logger } = options;
  const balancer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  let received: Buffer = Buffer.alloc(0);
  const refuse = (reason: string) => {
    finish();
    logger.info({ listener: options.listener, balancer, reason }, 'PROXY header refused, connection closed');
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const parsed = parseProxyHeader(received);
    if (parsed.kind === 'incomplete') return;
    if (parsed.kind === 'refused') return refuse(parsed.reason);
    finish();
    socket.pause();
    const rest = received.subarray(parsed.length);
    if (rest.length > 0) socket.unshift(rest);
    const { header } = parsed;
    if (header.command === 'proxy' && header.source) adoptPeer(socket, header.source);
    logger.debug(
      { listener: options.listener, balancer, command: header.command, version: header.version, remote: header.source },
      'PROXY header read',
    );
    handOver(socket);
    socket.resume();
  };
  const onEnd = () => {
    finish();
    // A balancer's TCP health check connects and closes without a byte.
    if (received.length === 0) logger.debug({ listener: options.listener, balancer }, 'closed before a PROXY header');
    else refuse('the connection ended inside the PROXY header');
    socket.destroy();
  };
  const onError = (error: Error) => {
    finish();
    logger.debug({ err: error, listener: options.listener, balancer }, 'socket error before the PROXY header');
    socket.destroy();
  };
  const timer = setTimeout(
    () => refuse(`no complete PROXY header within ${options.headerTimeoutMs} ms`),
    options.headerTimeoutMs,
  );
  timer.unref();
  function finish() {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onError);
  }
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
}

/**
 * Watches the first bytes of a direct connection, below every reader (`push` is where the socket's
 * handle delivers what it read): a PROXY signature destroys the socket before anyone reads it. Up
 * to 11 bytes that may still become a signature are held back; once the bytes differ, the watch
 * ends and the connection reads as if it had never been there.
 */
function refuseSignature(socket: Socket, options: ProxyGateOptions): void {
  const push = socket.push.bind(socket);
  let held: Buffer | undefined;
  const restore = () => {
    delete (socket as { push?: unknown }).push;
  };
  socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (!Buffer.isBuffer(chunk)) {
      restore();
      if (held) push(held);
      return push(chunk, encoding);
    }
    const bytes = held ? Buffer.concat([held, chunk]) : chunk;
    const verdict = proxySignature(bytes);
    if (verdict === 'maybe') {
      held = bytes;
      return true;
    }
    restore();
    held = undefined;
    if (verdict === 'no') return push(bytes);
    options.logger.info(
      { listener: options.listener, remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` },
      'PROXY header from an address not in FOTA_TRUSTED_PROXIES, connection closed',
    );
    socket.destroy();
    return false;
  };
}
