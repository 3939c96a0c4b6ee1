import { isIP, type Socket } from 'node:net';
import type { ProxiedAddress } from './proxy-protocol.js';

/**
 * The peer of a device socket: the address and port of whoever is at the other end, the device or
 * client, never the load balancer that relayed it. A connection that a trusted balancer opened
 * with a PROXY header takes the header's source (`adoptPeer`, see `proxy-gate.ts`): the socket's
 * own `remoteAddress`, `remotePort` and `remoteFamily` then answer with it, so every reader agrees,
 * fota's sessions as Fastify's `request.ip`, the throttle of failed authentication as the logs and
 * the audit log. A direct connection keeps the socket's own address.
 */

/** The balancer each adopted socket came through, for the logs. */
const balancers = new WeakMap<Socket, string>();

/** The address the throttle of failed authentication and the logs name. */
export const peerAddress = (socket: Socket): string | undefined => socket.remoteAddress;

/** `address:port` of the peer, for the `remote` field of the logs. */
export const peerLabel = (socket: Socket): string => `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;

/** The balancer that relayed the socket, when a PROXY header named another peer. */
export const proxiedBy = (socket: Socket): string | undefined => balancers.get(socket);

/** The socket now answers with `source` as its remote end. */
export function adoptPeer(socket: Socket, source: ProxiedAddress): void {
  const balancer = socket.remoteAddress;
  if (balancer !== undefined) balancers.set(socket, balancer);
  Object.defineProperties(socket, {
    remoteAddress: { value: source.address, configurable: true },
    remotePort: { value: source.port, configurable: true },
    remoteFamily: { value: isIP(source.address) === 6 ? 'IPv6' : 'IPv4', configurable: true },
  });
}
