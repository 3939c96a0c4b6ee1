import type { FastifyBaseLogger } from 'fastify';
import type { HttpLimits, Linkit7681Config } from '../../config.js';
import { DomainError } from '../../domain/errors.js';
import type { DeviceConnections } from '../../domain/services/connections.js';
import type { DeviceSelfService } from '../../domain/services/device-self.js';
import type { AuthThrottle } from '../../net/auth-throttle.js';
import type { SocketBudget } from '../../net/socket-budget.js';
import { startDiscoveryServer } from './discovery.js';
import { startLinkitCommandServer } from './server.js';

export interface Linkit7681Deps {
  readonly config: Linkit7681Config;
  readonly host: string;
  readonly deviceSelf: Pick<DeviceSelfService, 'authenticateByProof' | 'reportFirmware'>;
  readonly connections: Pick<DeviceConnections, 'attach' | 'detach' | 'touch'>;
  readonly logger: FastifyBaseLogger;
  readonly budget: SocketBudget;
  readonly throttle: AuthThrottle;
  readonly httpLimits: HttpLimits;
}

/** The two servers of the LinkIt Connect 7681 transport, as entries of app.ts's transport list. */
export function linkit7681Transports(deps: Linkit7681Deps) {
  const { config, logger } = deps;
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
          command: () =>
            Promise.reject(new DomainError('unavailable', 'pushes to LinkIt 7681 boards are not supported yet')),
          fotaAnswered: () => {},
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
        }),
    },
  ];
}
