import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDir, serveConsole } from '../../src/http/console.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server.stop());

const get = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, init);

describe('the web console at /', () => {
  it('serves index.html at / and for its own routes, and its bundle with a long cache', async () => {
    const index = await readFile(join(consoleDir, 'index.html'), 'utf8');
    for (const path of ['/', '/prototypes/P1234', '/devices/D1234567', '/pushes/abc?x=1']) {
      const answer = await get(path);
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.headers.get('cache-control')).toBe('no-cache');
      expect(await answer.text()).toBe(index);
    }
    const [bundle] = (await readdir(join(consoleDir, 'assets'))).filter((name) => name.endsWith('.js'));
    const asset = await get(`/assets/${bundle}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('never shadows the APIs, downloads, /healthz or a missing bundle file', async () => {
    const auth = { headers: { authorization: `Bearer ${server.token}` } };
    const api = await get('/api/v1/nothing-here', auth);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /api/v1/nothing-here' } });
    expect((await get('/api/v1/prototypes')).status).toBe(401);
    const mcs = await get('/mcs/v2/nothing');
    expect(mcs.status).toBe(404);
    expect(mcs.headers.get('content-type')).toMatch(/json/);
    const download = await get('/fw/Fnothing');
    expect(download.status).toBe(404);
    expect(download.headers.get('content-type')).toMatch(/json/);
    expect(await (await get('/healthz')).json()).toEqual({ status: 'ok' });
    const missing = await get('/assets/missing.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/json/);
    // Only a browser's navigation gets the page: other methods get a JSON 404.
    const post = await get('/prototypes', { method: 'POST' });
    expect(post.status).toBe(404);
    expect(await post.json()).toEqual({ error: { code: 'not_found', message: 'no route POST /prototypes' } });
  });

  it('answers 503 with the command that builds it when the console was not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'fota-no-console-'));
    const app = Fastify();
    await serveConsole(app, empty);
    const answer = await app.inject({ method: 'GET', url: '/' });
    expect(answer.statusCode).toBe(503);
    expect(answer.body).toContain('npm run build');
    expect((await app.inject({ method: 'GET', url: '/api/v1/x' })).statusCode).toBe(404);
    await app.close();
    await rm(empty, { recursive: true, force: true });
  });
});
