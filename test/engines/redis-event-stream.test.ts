import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { CREDENTIALS_RECHECK_MS } from '../../src/http/management/events.js';
import { openStream, type OpenStream } from '../support/event-stream.js';
import { freePort, testEnvironment } from '../support/server.js';

/**
 * The event stream across two nodes of one cluster (as `fota serve --workers` runs them: one SQLite
 * folder, Redis shared): credentials revoked through one node end the streams open on the other,
 * through `access.changed` relayed by Redis, long before the stream's own re-check (every 60 s).
 */
interface Node {
  readonly app: App;
  readonly url: string;
}

let a: Node;
let b: Node;
let dataDir: string;
let adminToken: string;
const streams: { close(): void }[] = [];

/** Well below the safety re-check: a stream that ends within it was ended by the relayed event. */
const STREAM_END_MS = 20_000;

async function startNode(env: Record<string, string>, worker: boolean): Promise<Node> {
  const config = loadConfig(env);
  const app = await createApp(config, undefined, { worker });
  await app.start();
  return { app, url: `http://127.0.0.1:${config.httpPort}` };
}

beforeAll(async () => {
  const envA = await testEnvironment({ FOTA_REDIS_URL: inject('redisUrl') });
  dataDir = envA['FOTA_DATA_DIR']!;
  adminToken = envA['FOTA_ADMIN_TOKEN']!;
  const envB = {
    ...envA,
    FOTA_HTTP_PORT: String(await freePort()),
    FOTA_TCP_PORT: String(await freePort()),
    FOTA_MQTT_PORT: String(await freePort()),
  };
  a = await startNode(envA, false);
  b = await startNode(envB, true);
});

afterEach(() => {
  for (const stream of streams.splice(0)) stream.close();
});

afterAll(async () => {
  await b?.app.stop();
  await a?.app.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function call(node: Node, method: string, path: string, options: { token?: string; body?: unknown } = {}) {
  const response = await fetch(`${node.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.token ?? adminToken}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

async function tracked(node: Node, auth: { token?: string; cookie?: string }): Promise<OpenStream> {
  const opened = await openStream(node.url, auth);
  streams.push(opened);
  return opened;
}

describe('the event stream on two nodes sharing Redis', () => {
  it('waits for no re-check on the node that did not make the change', () => {
    expect(STREAM_END_MS).toBeLessThan(CREDENTIALS_RECHECK_MS / 2);
  });

  it('ends on node B when its token is revoked through node A, and keeps another token’s', async () => {
    const revoked = await call(a, 'POST', '/tokens', { body: { name: 'revoked', role: 'viewer' } });
    const kept = await call(a, 'POST', '/tokens', { body: { name: 'kept', role: 'viewer' } });
    const ending = await tracked(b, { token: revoked.body.token });
    const staying = await tracked(b, { token: kept.body.token });
    expect((await ending.within(500)).state).toBe('open');
    expect((await call(a, 'DELETE', `/tokens/${revoked.body.tokenId}`)).status).toBe(204);
    const { state, text } = await ending.within(STREAM_END_MS);
    expect(state).toBe('ended');
    expect(text).toContain('event: session.ended\n');
    expect(text).toMatch(/"code":"unauthenticated"/);
    expect((await staying.within(500)).state).toBe('open');
  });

  it("ends a user's session stream on node B when node A deletes the user", async () => {
    const password = 'correct horse battery';
    const user = await call(a, 'POST', '/users', { body: { email: 'ada@example.com', password, role: 'viewer' } });
    expect(user.status).toBe(201);
    const session = await fetch(`${b.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.com', password }),
    });
    expect(session.status).toBe(200);
    const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
    const stream = await tracked(b, { cookie });
    expect((await stream.within(500)).state).toBe('open');
    expect((await call(a, 'DELETE', `/users/${user.body.userId}`)).status).toBe(204);
    const { state, text } = await stream.within(STREAM_END_MS);
    expect(state).toBe('ended');
    expect(text).toContain('event: session.ended\n');
  });
});
