import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../domain/errors.js';
import type { PushedDownload } from '../domain/services/pushes.js';
import { jsonErrorHandler } from './http-errors.js';
import { decideRange, ifRangeAllows, noneMatchHits } from './ranges.js';
import type { HttpServices } from './services.js';

const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * Firmware downloads at /fw/:fwId, and at /fw/p/:token for the URL a push sent one device, over
 * plain HTTP as mcs.c needs: a strong ETag (the SHA-256), single ranges, conditional requests, HEAD,
 * the MD5 and SHA-256 in headers, and the bytes streamed from the blob store. A firmware's bytes
 * never change, so answers are cacheable as immutable. In redirect mode (S3 only) a GET answers
 * 302 to a short-lived presigned URL of the bucket or to the CDN, never cached (the URL expires);
 * HEAD and conditional requests are still answered here.
 */
export const downloadRoutes: FastifyPluginAsync<{ services: HttpServices }> = async (app, { services }) => {
  app.setErrorHandler(jsonErrorHandler('download'));

  app.route<{ Params: { fwId: string } }>({
    method: ['GET', 'HEAD'],
    url: '/fw/:fwId',
    exposeHeadRoute: false,
    handler: (request, reply) => download(services, request, reply, request.params.fwId, undefined),
  });

  // Beside each download URL, its signed manifest and the manifest's detached signature.
  for (const file of ['manifest', 'manifest.sig'] as const) {
    app.route<{ Params: { fwId: string } }>({
      method: ['GET', 'HEAD'],
      url: `/fw/:fwId/${file}`,
      exposeHeadRoute: false,
      handler: (request, reply) => signed(services, reply, request.params.fwId, file),
    });
    app.route<{ Params: { token: string } }>({
      method: ['GET', 'HEAD'],
      url: `/fw/p/:token/${file}`,
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        const pushed = await services.pushes.pushedDownload(request.params.token);
        if (!pushed) throw notFound('no pushed download has this token');
        return signed(services, reply, pushed.firmwareId, file);
      },
    });
  }

  // The token names one device's part in one push: its first bytes move that part to downloading.
  app.route<{ Params: { token: string } }>({
    method: ['GET', 'HEAD'],
    url: '/fw/p/:token',
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const pushed = await services.pushes.pushedDownload(request.params.token);
      if (!pushed) throw notFound('no pushed download has this token');
      return download(services, request, reply, pushed.firmwareId, pushed);
    },
  });
};

async function download(
  services: HttpServices,
  request: FastifyRequest,
  reply: FastifyReply,
  firmwareId: string,
  pushed: PushedDownload | undefined,
): Promise<FastifyReply> {
  const firmware = await services.firmwares.openForDownload(firmwareId);
  const etag = `"${firmware.sha256}"`;
  const lastModified = new Date(Math.floor(firmware.createdAt.getTime() / 1000) * 1000);
  void reply.headers({
    etag,
    'last-modified': lastModified.toUTCString(),
    'cache-control': `public, max-age=${YEAR_SECONDS}, immutable`,
    'accept-ranges': 'bytes',
    'content-md5': Buffer.from(firmware.md5, 'hex').toString('base64'),
    'x-checksum-md5': firmware.md5,
    'x-checksum-sha256': firmware.sha256,
    'content-disposition': contentDisposition(firmware.fileName),
  });

  const noneMatch = request.headers['if-none-match'];
  const modifiedSince = request.headers['if-modified-since'];
  if (
    noneMatchHits(noneMatch, etag) ||
    (noneMatch === undefined && modifiedSince !== undefined && Date.parse(modifiedSince) >= lastModified.getTime())
  ) {
    return reply.code(304).send();
  }
  if (services.downloadRedirect && request.method === 'GET') {
    // The bucket (or the CDN) serves the bytes, ranges included; the push still sees its download.
    const location = await services.downloadRedirect({
      sha256: firmware.sha256,
      contentDisposition: contentDisposition(firmware.fileName),
    });
    if (pushed) services.pushes.downloadStarted(pushed);
    return reply.code(302).header('location', location).header('cache-control', 'no-store').send();
  }

  const size = firmware.size;
  const decision = ifRangeAllows(firstHeader(request.headers['if-range']), etag, lastModified)
    ? decideRange(firstHeader(request.headers.range), size)
    : { kind: 'full' as const };
  if (decision.kind === 'unsatisfiable') {
    return reply
      .code(416)
      .header('content-range', `bytes */${size}`)
      .send({ error: { code: 'range_not_satisfiable', message: `the firmware has ${size} bytes` } });
  }
  const range = decision.kind === 'partial' ? decision.range : undefined;
  void reply.type('application/octet-stream');
  if (range) {
    void reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
  }
  const length = range ? range.end - range.start + 1 : size;
  const headOnly = request.method === 'HEAD';
  if (!headOnly && pushed) services.pushes.downloadStarted(pushed);
  return sendBody(reply, headOnly, length, () => services.firmwares.readBytes(firmware, range));
}

/**
 * The manifest's exact signed bytes, or its signature line, as plain text. Not cached for long: a
 * firmware signed again (a new key) serves the newer manifest. 404 for a firmware not signed.
 */
async function signed(
  services: HttpServices,
  reply: FastifyReply,
  firmwareId: string,
  file: 'manifest' | 'manifest.sig',
): Promise<FastifyReply> {
  await services.firmwares.openForDownload(firmwareId);
  const signature = await services.signing.servedSignature(firmwareId);
  if (!signature) throw notFound(`firmware ${firmwareId} is not signed`);
  const body = file === 'manifest' ? signature.manifest : signature.signature;
  return reply
    .type('text/plain; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-signing-key-id', signature.keyId)
    .header('content-length', Buffer.byteLength(body))
    .send(body);
}

async function sendBody(
  reply: FastifyReply,
  headOnly: boolean,
  length: number,
  open: () => Promise<NodeJS.ReadableStream>,
): Promise<FastifyReply> {
  void reply.header('content-length', length);
  if (headOnly) return reply.send();
  return reply.send(await open());
}

/** `attachment` with an ASCII fallback name and the exact name in RFC 5987 form. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

const firstHeader = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;
