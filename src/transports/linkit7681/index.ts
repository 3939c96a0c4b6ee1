import type { FastifyBaseLogger } from 'fastify';
import type { HttpLimits, Linkit7681Config } from '../../config/index.js';
import type { EventBus } from '../../domain/events.js';
import { LinkitFota, type LinkitFotaDeps } from './fota.js';
import type { DeviceConnections } from '../../domain/services/connections.js';
import type { DeviceSelfService } from '../../domain/services/device-self.js';
import type { FailureThrottle } from '../../net/auth-throttle.js';
import type { SocketBudget } from '../../net/socket-budget.js';
import type { ProxyProtocolSetting } from '../../net/proxy-gate.js';
import { startDiscoveryServer } from './discovery.js';
import { startLinkitCommandServer } from './server.js';

export interface Linkit7681Deps {
  readonly config: Linkit7681Config;
  readonly host: string;
  readonly deviceSelf: Pick<DeviceSelfService, 'authenticateByProof' | 'reportFirmware'>;
  readonly connections: Pick<DeviceConnections, 'attach' | 'detach' | 'touch'>;
  readonly logger: FastifyBaseLogger;
  readonly budget: SocketBudget;
  readonly throttle: FailureThrottle;
  readonly httpLimits: HttpLimits;
  readonly firmwares: LinkitFotaDeps['firmwares'];
  readonly pushes: LinkitFotaDeps['pushes'];
  readonly events: EventBus;
  /** Set: both servers take PROXY headers from the trusted balancers. */
  readonly proxyProtocol?: ProxyProtocolSetting | undefined;
}

/** The two servers of the LinkIt Connect 7681 transport, as entries of app.ts's transport list. */
export function linkit7681Transports(deps: Linkit7681Deps) {
  const { config, logger } = deps;
  const fota = new LinkitFota({
    firmwares: deps.firmwares,
    pushes: deps.pushes,
    events: deps.events,
    publicHost: config.publicHost,
    logger,
  });
  return [
    {
      protocol: 'linkit7681' as const,
      variable: 'FOTA_LINKIT7681_PORT',
      port: config.port,
      start: () =>
        startLinkitCommandServer({
          host: deps.host,
          port: config.port,
          deviceSelf: deps.deviceSelf,
          connections: deps.connections,
          logger,
          budget: deps.budget,
          throttle: deps.throttle,
          identifyTimeoutMs: config.identifyTimeoutMs,
          idleTimeoutMs: config.idleTimeoutMs,
          writeGapMs: config.writeGapMs,
          command: (session, command) => fota.command(session, command),
          fotaAnswered: (session, status) => fota.answered(session, status),
          proxyProtocol: deps.proxyProtocol,
        }),
    },
    {
      protocol: 'linkit7681' as const,
      variable: 'FOTA_LINKIT7681_DISCOVERY_PORT',
      port: config.discoveryPort,
      start: () =>
        startDiscoveryServer({
          host: deps.host,
          port: config.discoveryPort,
          commandServer: { host: config.publicHost, port: config.publicPort },
          deviceSelf: deps.deviceSelf,
          logger,
          throttle: deps.throttle,
          maxConnections: deps.httpLimits.maxConnections,
          headersTimeoutMs: deps.httpLimits.headersTimeoutMs,
          fallback: (request, response) => fota.serve(request, response),
          proxyProtocol: deps.proxyProtocol,
        }),
    },
  ];
}
