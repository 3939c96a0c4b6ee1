import type { FastifyPluginAsync } from 'fastify';
import { invalid, isDomainError } from '../../domain/errors.js';
import type { FailureThrottle } from '../../net/auth-throttle.js';
import type { Firmware } from '../../domain/model.js';
import { toHttpError } from '../http-errors.js';
import type { HttpServices } from '../services.js';
import { parseDataPointsCsv, parseDataPointsJson } from './datapoints.js';
import { deviceKeyOf } from './device-key.js';
import { mcsError, mcsSuccess } from './envelope.js';

/** Device requests are tiny; this bounds what a device may send in one body. */
const DEVICE_BODY_LIMIT = 64 * 1024;

interface DeviceParams {
  deviceId: string;
}

/**
 * The MCS device API under /mcs/v2, as real MCS clients call it. Content-Type is not checked (one
 * Arduino library quoted it), bodies are parsed here, and every answer has a Content-Length.
 */
export const mcsDeviceApi: FastifyPluginAsync<{
  services: HttpServices;
  throttle?: FailureThrottle | undefined;
}> = async (app, { services, throttle }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: DEVICE_BODY_LIMIT }, (_request, body, done) =>
    done(null, body),
  );

  app.addHook('onRequest', async (request, reply) => {
    const { deviceId } = request.params as Partial<DeviceParams>;
    if (deviceId === undefined) return;
    // An address over its limit of failed keys is refused before its key is even checked.
    const retryAfter = throttle?.retryAfterSeconds(request.ip) ?? 0;
    if (retryAfter > 0) return reply.code(429).header('retry-after', String(retryAfter)).send(mcsError(429));
    try {
      // The record read to check the key travels with the actor: the service reads no device again.
      request.actor = await services.deviceSelf.authenticateRequest(deviceId, deviceKeyOf(request));
    } catch (error) {
      if (isDomainError(error, 'unauthenticated') || isDomainError(error, 'not_found')) throttle?.failed(request.ip);
      throw error;
    }
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { status } = toHttpError(error);
    if (status >= 500) request.log.error({ err: error }, 'device request failed');
    return reply.code(status).send(mcsError(status));
  });

  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send(mcsError(404)));

  // The service answers the same array while the answer holds, so its bytes are kept with it.
  const bodies = new WeakMap<readonly Firmware[], { plain?: Buffer; withUrl?: Buffer }>();
  const listing = (firmwares: readonly Firmware[], withUrl: boolean): Buffer => {
    let kept = bodies.get(firmwares);
    if (!kept) {
      kept = {};
      bodies.set(firmwares, kept);
    }
    const field = withUrl ? 'withUrl' : 'plain';
    return (kept[field] ??= Buffer.from(JSON.stringify(listingAnswer(firmwares, withUrl, services.firmwareUrl))));
  };

  app.put<{ Params: DeviceParams; Body: Buffer | undefined }>('/devices/:deviceId/firmwares', async (request) => {
    const firmware = await services.deviceSelf.reportFirmware(
      request.actor,
      request.params.deviceId,
      reportedVersion(request.body),
    );
    return mcsSuccess({ fwId: firmware.id });
  });

  app.get<{ Params: DeviceParams; Querystring: { url?: string } }>(
    '/devices/:deviceId/firmwares/available',
    async (request, reply) =>
      reply
        .type(JSON_TYPE)
        .send(
          listing(
            await services.deviceSelf.availableFirmwares(request.actor, request.params.deviceId),
            wantsUrl(request.query.url),
          ),
        ),
  );

  app.get<{ Params: DeviceParams & { version: string }; Querystring: { url?: string } }>(
    '/devices/:deviceId/firmwares/available/:version',
    async (request, reply) =>
      reply
        .type(JSON_TYPE)
        .send(
          listing(
            await services.deviceSelf.availableFirmwares(
              request.actor,
              request.params.deviceId,
              request.params.version,
            ),
            wantsUrl(request.query.url),
          ),
        ),
  );

  app.get<{ Params: DeviceParams & { fwId: string } }>('/devices/:deviceId/firmwares/:fwId/url', async (request) => {
    const firmware = await services.deviceSelf.firmware(request.actor, request.params.deviceId, request.params.fwId);
    return mcsSuccess({ url: services.firmwareUrl(firmware.id) });
  });

  app.post<{ Params: DeviceParams; Body: Buffer | undefined }>('/devices/:deviceId/datapoints', async (request) => {
    const points = parseDataPointsJson(bodyText(request.body));
    await services.dataPoints.ingest(request.actor, request.params.deviceId, points);
    return mcsSuccess({ results: 'success' });
  });

  app.post<{ Params: DeviceParams; Body: Buffer | undefined }>(
    '/devices/:deviceId/datapoints.csv',
    {
      // MCS answered CSV uploads in CSV: `Success.`, or this line when nothing was stored.
      errorHandler: async (error, request, reply) => {
        const { status } = toHttpError(error);
        if (status !== 400) return reply.code(status).send(mcsError(status));
        request.log.info({ err: error }, 'data points refused');
        return reply.code(400).type('text/csv').send('400,None of data points uploaded success.');
      },
    },
    async (request, reply) => {
      const points = parseDataPointsCsv(bodyText(request.body));
      await services.dataPoints.ingest(request.actor, request.params.deviceId, points);
      return reply.type('text/csv').send('Success.');
    },
  );

  app.get<{ Params: DeviceParams }>('/devices/:deviceId/connections', async (request) => {
    const endpoint = await services.deviceSelf.tcpEndpoint(request.actor, request.params.deviceId);
    return mcsSuccess({ ip: endpoint.host, port: endpoint.port });
  });

  app.get<{ Params: DeviceParams }>('/devices/:deviceId/connections.csv', async (request, reply) => {
    const endpoint = await services.deviceSelf.tcpEndpoint(request.actor, request.params.deviceId);
    return reply.type('text/csv').send(`${endpoint.host},${endpoint.port}`);
  });
};

/** What Fastify sends for an object, so that a kept body goes out with the same headers. */
const JSON_TYPE = 'application/json; charset=utf-8';

function listingAnswer(
  firmwares: readonly Firmware[],
  withUrl: boolean,
  firmwareUrl: (firmwareId: string) => string,
): Record<string, unknown> {
  return mcsSuccess({
    results: firmwares.map((firmware) => ({
      fwid: firmware.id,
      name: firmware.name,
      description: firmware.releaseNote === '' ? null : firmware.releaseNote,
      version: firmware.version,
      ...(withUrl ? { url: firmwareUrl(firmware.id) } : {}),
    })),
  });
}

const bodyText = (body: Buffer | undefined): string => (body ?? Buffer.alloc(0)).toString('utf8');

const wantsUrl = (value: string | undefined): boolean => value !== undefined && value.toLowerCase() === 'true';

/** `{"version":"v1"}`; a number is taken as its text, since versions like `1` occur. */
function reportedVersion(body: Buffer | undefined): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    throw invalid('the body must be JSON like {"version":"1.0"}');
  }
  const version = (parsed as { version?: unknown } | null)?.version;
  if (typeof version === 'string' && version !== '') return version;
  if (typeof version === 'number' && Number.isFinite(version)) return String(version);
  throw invalid('the body must be JSON like {"version":"1.0"}');
}
