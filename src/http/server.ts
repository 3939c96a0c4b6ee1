import './fastify-types.js';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { FailureThrottle } from '../net/auth-throttle.js';
import { acceptProxyHeaders, type ProxyProtocolSetting } from '../net/proxy-gate.js';
import type { TrustedProxies } from '../net/trusted-proxies.js';
import { serveConsole } from './console.js';
import { downloadRoutes } from './downloads.js';
import { FirmwareUploadForm } from './management/firmwares.js';
import { withAuditKind } from './management/audit-recorder.js';
import { managementApi } from './management/index.js';
import { mcsDeviceApi } from './mcs/routes.js';
import { createLimitedServer, useBodyDeadlines, type HttpLimits } from './limits.js';
import type { HttpServices } from './services.js';
import { useStrictBodies } from './validation.js';

export interface HttpServerOptions {
  readonly services: HttpServices;
  readonly logger: FastifyBaseLogger;
  readonly maxFirmwareBytes: number;
  readonly publicUrl: string;
  readonly version: string;
  /** Failed authentication per source address, shared with TCP and MQTT; none means no throttle. */
  readonly throttle?: FailureThrottle | undefined;
  /** Failed sign-ins per account. */
  readonly accountThrottle?: FailureThrottle | undefined;
  /** How long a console session lasts from sign-in. */
  readonly sessionTtlSeconds: number;
  readonly limits: HttpLimits;
  /**
   * The balancers in front (`FOTA_TRUSTED_PROXIES`): a request from one of them is from the client
   * its `X-Forwarded-For` names (`request.ip`). None: `request.ip` is the socket's address.
   */
  readonly trustedProxies?: TrustedProxies | undefined;
  /** Set: connections from the trusted balancers start with a PROXY header (`FOTA_PROXY_PROTOCOL`). */
  readonly proxyProtocol?: ProxyProtocolSetting | undefined;
}

/** The one HTTP server: management API, MCS device API, downloads, OpenAPI and its docs, the web console. */
export async function buildHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const trusted = options.trustedProxies;
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true },
    serverFactory: (handler) => {
      const server = createLimitedServer(handler, options.limits, warnOncePerMinute(options));
      if (options.proxyProtocol) {
        const gate = { ...options.proxyProtocol, logger: options.logger, listener: 'http', screenDirect: false };
        acceptProxyHeaders(server, gate);
      }
      return server;
    },
    ...(trusted && !trusted.empty ? { trustProxy: (address: string) => trusted.has(address) } : {}),
  });
  app.decorateRequest('actor', null as never);
  app.decorateRequest('sessionSecret', undefined);
  app.decorateRequest('auditDetails', undefined);
  useBodyDeadlines(app, options.limits);
  useStrictBodies(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'fota management API',
        version: options.version,
        description:
          'Firmware repository and FOTA management. Every route needs `Authorization: Bearer <token>`. The MCS device API under /mcs/v2 and downloads under /fw are described in the README.',
      },
      servers: [{ url: options.publicUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: ({ schema: declared, url, route }) => {
      const schema = withAuditKind(declared, route);
      if (url === '/api/v1/prototypes/:pid/firmwares' && route.method === 'POST') {
        return { schema: { ...schema, body: FirmwareUploadForm }, url };
      }
      return { schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  await app.register(managementApi, {
    prefix: '/api/v1',
    services: options.services,
    maxFirmwareBytes: options.maxFirmwareBytes,
    throttle: options.throttle,
    accountThrottle: options.accountThrottle,
    sessionTtlSeconds: options.sessionTtlSeconds,
    secureCookie: options.publicUrl.startsWith('https:'),
  });
  await app.register(mcsDeviceApi, { prefix: '/mcs/v2', services: options.services, throttle: options.throttle });
  await app.register(downloadRoutes, { services: options.services });
  await serveConsole(app);
  return app;
}

/** A warning when HTTP sockets are refused for the connection limit, at most once a minute. */
function warnOncePerMinute(options: HttpServerOptions): () => void {
  let lastWarning = -Infinity;
  return () => {
    const now = Date.now();
    if (now - lastWarning < 60_000) return;
    lastWarning = now;
    options.logger.warn(
      { limit: options.limits.maxConnections },
      'HTTP connection limit reached: new connections are closed at once (FOTA_MAX_HTTP_CONNECTIONS)',
    );
  };
}
