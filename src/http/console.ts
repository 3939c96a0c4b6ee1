import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where `npm run build` puts the web console, from src/http or dist/http alike. */
export const consoleDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'console');

/** Paths never answered with index.html: the APIs, downloads, /healthz and missing bundle files keep their 404s. */
const serverPaths = /^\/(api|mcs|fw|healthz|assets)(\/|$|\?)/;

/**
 * The web console at `/`: its files, and index.html for every other GET a browser navigates to
 * (the console's own routes), never for the API, the MCS device API, downloads or /healthz.
 */
export async function serveConsole(app: FastifyInstance, root = consoleDir): Promise<void> {
  const built = existsSync(join(root, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      wildcard: false,
      index: false,
      cacheControl: false,
      setHeaders: (response, path) => {
        // Bundles carry a content hash in their names: cache them; index.html always revalidates.
        response.header(
          'cache-control',
          path.includes(`${join(root, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
      schemaHide: true,
    });
  }
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url;
    if ((request.method !== 'GET' && request.method !== 'HEAD') || serverPaths.test(path)) {
      return reply
        .code(404)
        .send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url}` } });
    }
    if (!built) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web console is not built: run `npm run build` (npm ci runs it), then restart fota serve.\n');
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}
