import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { CREDENTIALS_RECHECK_MS } from '../../src/http/management/events.js';
import { openStream } from '../support/event-stream.js';
import { newAdminToken, startServer, testEnvironment, uploadFirmware, type TestServer } from '../support/server.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

/** A management call with a bearer token, a session cookie (and its CSRF token) or nothing. */
async function call(
  s: TestServer,
  method: string,
  path: string,
  options: { token?: string; cookie?: string; csrf?: string; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.cookie !== undefined) headers['cookie'] = options.cookie;
  if (options.csrf !== undefined) headers['x-csrf-token'] = options.csrf;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${s.url}/api/v1${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

async function createUser(s: TestServer, email: string, role: string, password = 'correct horse battery') {
  const answer = await call(s, 'POST', '/users', { token: s.token, body: { email, password, role } });
  expect(answer.status).toBe(201);
  return answer.body as { userId: string; email: string; role: string };
}

async function signIn(s: TestServer, email: string, password = 'correct horse battery') {
  const answer = await call(s, 'POST', '/session', { body: { email, password } });
  expect(answer.status).toBe(200);
  const setCookie = answer.headers.get('set-cookie')!;
  const cookie = setCookie.split(';')[0]!;
  return { cookie, csrf: answer.body.csrfToken as string, setCookie, body: answer.body };
}

async function tokenFor(s: TestServer, role: string, as = s.token): Promise<string> {
  const answer = await call(s, 'POST', '/tokens', { token: as, body: { name: `${role} token`, role } });
  expect(answer.status).toBe(201);
  return answer.body.token as string;
}

describe('sessions', () => {
  it('signs in with an email and password, sets an HttpOnly SameSite=Strict cookie, and signs out', async () => {
    server = await startServer();
    await createUser(server, 'Ada@Example.com', 'developer');
    const { cookie, csrf, setCookie, body } = await signIn(server, 'ada@example.com');
    expect(body.user).toMatchObject({ email: 'ada@example.com', role: 'developer', builtIn: false });
    expect(setCookie).toMatch(/^fota_session=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain('Secure');

    const again = await call(server, 'GET', '/session', { cookie });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(body);
    expect((await call(server, 'GET', '/prototypes', { cookie })).status).toBe(200);

    expect((await call(server, 'DELETE', '/session', { cookie })).status).toBe(403);
    const out = await call(server, 'DELETE', '/session', { cookie, csrf });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await call(server, 'GET', '/session', { cookie })).status).toBe(401);
    expect((await call(server, 'GET', '/prototypes', { cookie })).status).toBe(401);
  });

  it('refuses a wrong email and a wrong password with the same answer', async () => {
    server = await startServer();
    await createUser(server, 'ada@example.com', 'viewer');
    const wrongPassword = await call(server, 'POST', '/session', {
      body: { email: 'ada@example.com', password: 'not the password' },
    });
    const wrongEmail = await call(server, 'POST', '/session', {
      body: { email: 'bob@example.com', password: 'correct horse battery' },
    });
    for (const answer of [wrongPassword, wrongEmail]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ error: { code: 'unauthenticated', message: 'wrong email or password' } });
      expect(answer.headers.get('set-cookie')).toBeNull();
    }
    expect((await call(server, 'GET', '/session')).status).toBe(401);
  });

  it('marks the cookie Secure when the public URL is https', async () => {
    server = await startServer({ FOTA_PUBLIC_URL: 'https://fota.example.com' });
    await createUser(server, 'ada@example.com', 'admin');
    expect((await signIn(server, 'ada@example.com')).setCookie).toContain('; Secure');
  });

  it('signs in the built-in administrator with the admin token, to create the first users', async () => {
    server = await startServer();
    const answer = await call(server, 'POST', '/session', { body: { adminToken: server.token } });
    expect(answer.status).toBe(200);
    expect(answer.body.user).toMatchObject({ userId: 'admin', email: 'admin', role: 'admin', builtIn: true });
    const cookie = answer.headers.get('set-cookie')!.split(';')[0]!;
    const created = await call(server, 'POST', '/users', {
      cookie,
      csrf: answer.body.csrfToken,
      body: { email: 'first@example.com', password: 'a long password', role: 'admin' },
    });
    expect(created.status).toBe(201);
    const wrong = await call(server, 'POST', '/session', { body: { adminToken: 'fota_wrong_token_123456' } });
    expect(wrong.status).toBe(401);
  });

  it('refuses a changing request authenticated by the cookie without the CSRF token', async () => {
    server = await startServer();
    await createUser(server, 'ada@example.com', 'developer');
    const { cookie, csrf } = await signIn(server, 'ada@example.com');
    for (const headers of [{}, { csrf: 'x'.repeat(43) }]) {
      const refused = await call(server, 'POST', '/prototypes', { cookie, ...headers, body: { name: 'p' } });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('forbidden');
      expect(refused.body.error.message).toMatch(/csrf/i);
    }
    expect((await call(server, 'GET', '/prototypes', { cookie })).body).toEqual([]);
    expect((await call(server, 'POST', '/prototypes', { cookie, csrf, body: { name: 'p' } })).status).toBe(201);
    // A bearer token needs none.
    expect((await call(server, 'POST', '/prototypes', { token: server.token, body: { name: 'q' } })).status).toBe(201);
  });

  it('streams events to a session cookie', async () => {
    server = await startServer();
    await createUser(server, 'ada@example.com', 'viewer');
    const { cookie } = await signIn(server, 'ada@example.com');
    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/v1/events`, { headers: { cookie }, signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    controller.abort();
  });

  it('expires a session after FOTA_SESSION_TTL_S', async () => {
    server = await startServer({ FOTA_SESSION_TTL_S: '1' });
    await createUser(server, 'ada@example.com', 'viewer');
    const { cookie, setCookie } = await signIn(server, 'ada@example.com');
    expect(setCookie).toContain('Max-Age=1');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const expired = await call(server, 'GET', '/prototypes', { cookie });
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);
  });

  it('ends every session of a user whose password changes or who is deleted', async () => {
    server = await startServer();
    const ada = await createUser(server, 'ada@example.com', 'developer');
    const first = await signIn(server, 'ada@example.com');
    const patched = await call(server, 'PATCH', `/users/${ada.userId}`, {
      token: server.token,
      body: { password: 'a brand new password' },
    });
    expect(patched.status).toBe(200);
    expect((await call(server, 'GET', '/session', { cookie: first.cookie })).status).toBe(401);
    const second = await signIn(server, 'ada@example.com', 'a brand new password');
    expect((await call(server, 'DELETE', `/users/${ada.userId}`, { token: server.token })).status).toBe(204);
    expect((await call(server, 'GET', '/session', { cookie: second.cookie })).status).toBe(401);
  });
});

/**
 * Generous for a busy machine, and well below the stream's safety re-check (every 60 s, the first
 * one 60 s after it opened): a stream that ends within it was ended by the change's event.
 */
const STREAM_END_MS = 20_000;
expect(STREAM_END_MS).toBeLessThan(CREDENTIALS_RECHECK_MS / 2);

describe('the event stream ends with its credentials', () => {
  const streams: { close(): void }[] = [];
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });

  it('ends when the session signs out, and tells why', async () => {
    server = await startServer();
    await createUser(server, 'ada@example.com', 'viewer');
    const { cookie, csrf } = await signIn(server, 'ada@example.com');
    const stream = await openStream(server.url, { cookie });
    streams.push(stream);
    expect((await stream.within(500)).state).toBe('open');
    expect((await call(server, 'DELETE', '/session', { cookie, csrf })).status).toBe(204);
    const { state, text } = await stream.within(STREAM_END_MS);
    expect(state).toBe('ended');
    expect(text).toContain('event: session.ended\n');
    expect(text).toMatch(/"code":"unauthenticated"/);
  });

  it('ends when the session expires', async () => {
    server = await startServer({ FOTA_SESSION_TTL_S: '2' });
    await createUser(server, 'ada@example.com', 'viewer');
    const { cookie } = await signIn(server, 'ada@example.com');
    const stream = await openStream(server.url, { cookie });
    streams.push(stream);
    const { state, text } = await stream.within(STREAM_END_MS);
    expect(state).toBe('ended');
    expect(text).toMatch(/expired/);
  });

  it("ends when the user's password changes or the user is deleted", async () => {
    server = await startServer();
    const ada = await createUser(server, 'ada@example.com', 'developer');
    const first = await openStream(server.url, { cookie: (await signIn(server, 'ada@example.com')).cookie });
    const second = await openStream(server.url, { cookie: (await signIn(server, 'ada@example.com')).cookie });
    streams.push(first, second);
    const patch = { token: server.token, body: { password: 'a brand new password' } };
    expect((await call(server, 'PATCH', `/users/${ada.userId}`, patch)).status).toBe(200);
    expect((await first.within(STREAM_END_MS)).state).toBe('ended');
    expect((await second.within(STREAM_END_MS)).state).toBe('ended');

    const third = await openStream(server.url, {
      cookie: (await signIn(server, 'ada@example.com', 'a brand new password')).cookie,
    });
    streams.push(third);
    expect((await third.within(500)).state).toBe('open');
    expect((await call(server, 'DELETE', `/users/${ada.userId}`, { token: server.token })).status).toBe(204);
    expect((await third.within(STREAM_END_MS)).state).toBe('ended');
  });

  it('ends when its API token is revoked, and keeps streaming to a valid one', async () => {
    server = await startServer();
    const created = await call(server, 'POST', '/tokens', {
      token: server.token,
      body: { name: 'ci', role: 'viewer' },
    });
    const kept = await call(server, 'POST', '/tokens', { token: server.token, body: { name: 'kept', role: 'viewer' } });
    const revoked = await openStream(server.url, { token: created.body.token });
    const valid = await openStream(server.url, { token: kept.body.token });
    streams.push(revoked, valid);
    expect((await call(server, 'DELETE', `/tokens/${created.body.tokenId}`, { token: server.token })).status).toBe(204);
    const { state, text } = await revoked.within(STREAM_END_MS);
    expect(state).toBe('ended');
    expect(text).toContain('event: session.ended\n');
    expect(text).toMatch(/"code":"unauthenticated"/);
    expect((await valid.within(500)).state).toBe('open');
  });

  it("ends the streams of a deleted user's API tokens, and no other user's", async () => {
    server = await startServer();
    const ada = await createUser(server, 'ada@example.com', 'developer');
    await createUser(server, 'bob@example.com', 'viewer');
    const { cookie, csrf } = await signIn(server, 'ada@example.com');
    const created = await call(server, 'POST', '/tokens', { cookie, csrf, body: { name: 'ada ci', role: 'viewer' } });
    expect(created.status).toBe(201);
    const adaToken = created.body.token as string;
    const adaStream = await openStream(server.url, { token: adaToken });
    const bobStream = await openStream(server.url, { cookie: (await signIn(server, 'bob@example.com')).cookie });
    streams.push(adaStream, bobStream);
    expect((await call(server, 'DELETE', `/users/${ada.userId}`, { token: server.token })).status).toBe(204);
    expect((await adaStream.within(STREAM_END_MS)).state).toBe('ended');
    expect((await bobStream.within(500)).state).toBe('open');
  });

  it('keeps the stream of a user whose role is lowered: every role may follow the events', async () => {
    server = await startServer();
    const ada = await createUser(server, 'ada@example.com', 'developer');
    const { cookie, csrf } = await signIn(server, 'ada@example.com');
    const stream = await openStream(server.url, { cookie });
    streams.push(stream);
    const patch = { token: server.token, body: { role: 'viewer' } };
    expect((await call(server, 'PATCH', `/users/${ada.userId}`, patch)).status).toBe(200);
    expect((await stream.within(1500)).state).toBe('open');
    // The session acts with the new role at once.
    const body = { name: 'ci', role: 'developer' };
    expect((await call(server, 'POST', '/tokens', { cookie, csrf, body })).status).toBe(403);
  });
});

describe('sessions of the admin token', () => {
  it('end when the server starts with another FOTA_ADMIN_TOKEN, and the new token opens new ones', async () => {
    const env = await testEnvironment();
    const start = async (token: string) => {
      const app = await createApp(loadConfig({ ...env, FOTA_ADMIN_TOKEN: token }));
      await app.start();
      return app;
    };
    const url = `http://127.0.0.1:${env['FOTA_HTTP_PORT']}`;
    const s = { url } as TestServer;
    const oldToken = env['FOTA_ADMIN_TOKEN']!;
    let app = await start(oldToken);
    try {
      const opened = await call(s, 'POST', '/session', { body: { adminToken: oldToken } });
      const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
      expect((await call(s, 'GET', '/session', { cookie })).status).toBe(200);
      await app.stop();

      const newToken = newAdminToken();
      app = await start(newToken);
      const refused = await call(s, 'GET', '/prototypes', { cookie });
      expect(refused.status).toBe(401);
      expect(refused.body.error.message).toMatch(/admin token/);
      expect((await call(s, 'GET', '/session', { cookie })).status).toBe(401);
      const fresh = await call(s, 'POST', '/session', { body: { adminToken: newToken } });
      const freshCookie = fresh.headers.get('set-cookie')!.split(';')[0]!;
      expect((await call(s, 'GET', '/prototypes', { cookie: freshCookie })).status).toBe(200);
    } finally {
      await app.stop();
      await rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true });
    }
  });
});

describe('throttling sign-ins', () => {
  it('refuses an account after FOTA_ACCOUNT_FAILURE_BURST failures, a correct password too, with Retry-After', async () => {
    server = await startServer({ FOTA_ACCOUNT_FAILURE_BURST: '3', FOTA_ACCOUNT_LOCK_S: '300' });
    await createUser(server, 'ada@example.com', 'viewer');
    await createUser(server, 'bob@example.com', 'viewer');
    for (let attempt = 0; attempt < 3; attempt++) {
      const wrong = await call(server, 'POST', '/session', {
        body: { email: 'ADA@example.com', password: 'wrong password' },
      });
      expect(wrong.status).toBe(401);
    }
    const locked = await call(server, 'POST', '/session', {
      body: { email: 'ada@example.com', password: 'correct horse battery' },
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(200);
    expect(locked.body.error.code).toBe('too_many_requests');
    // Another account from the same address still signs in.
    await signIn(server, 'bob@example.com');
  });

  it('refuses an address after FOTA_AUTH_FAILURE_BURST failed sign-ins, whatever the account', async () => {
    server = await startServer({ FOTA_AUTH_FAILURE_BURST: '4', FOTA_AUTH_FAILURES_PER_MINUTE: '1' });
    await createUser(server, 'ada@example.com', 'viewer');
    for (let attempt = 0; attempt < 4; attempt++) {
      const wrong = await call(server, 'POST', '/session', {
        body: { email: `nobody${attempt}@example.com`, password: 'wrong password' },
      });
      expect(wrong.status).toBe(401);
    }
    const refused = await call(server, 'POST', '/session', {
      body: { email: 'ada@example.com', password: 'correct horse battery' },
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('users', () => {
  it('creates, lists, changes and deletes users; admins only', async () => {
    server = await startServer();
    const ada = await createUser(server, ' Ada@Example.COM ', 'admin');
    expect(ada.email).toBe('ada@example.com');
    const duplicate = await call(server, 'POST', '/users', {
      token: server.token,
      body: { email: 'ada@example.com', password: 'another password', role: 'viewer' },
    });
    expect(duplicate.status).toBe(409);
    const short = await call(server, 'POST', '/users', {
      token: server.token,
      body: { email: 'bob@example.com', password: 'short', role: 'viewer' },
    });
    expect(short.status).toBe(400);
    const badEmail = await call(server, 'POST', '/users', {
      token: server.token,
      body: { email: 'not an email', password: 'long enough password', role: 'viewer' },
    });
    expect(badEmail.status).toBe(400);
    const bob = await createUser(server, 'bob@example.com', 'viewer');
    const list = await call(server, 'GET', '/users', { token: server.token });
    expect(list.body.map((user: any) => user.email)).toEqual(['ada@example.com', 'bob@example.com']);
    expect(JSON.stringify(list.body)).not.toMatch(/scrypt|password/);
    const promoted = await call(server, 'PATCH', `/users/${bob.userId}`, {
      token: server.token,
      body: { role: 'developer' },
    });
    expect(promoted.body.role).toBe('developer');

    const developer = await tokenFor(server, 'developer', await tokenFor(server, 'admin'));
    expect((await call(server, 'GET', '/users', { token: developer })).status).toBe(403);
    const developerCreates = await call(server, 'POST', '/users', {
      token: developer,
      body: { email: 'eve@example.com', password: 'long enough password', role: 'admin' },
    });
    expect(developerCreates.status).toBe(403);
  });

  it('keeps the last admin', async () => {
    server = await startServer();
    const ada = await createUser(server, 'ada@example.com', 'admin');
    const deleted = await call(server, 'DELETE', `/users/${ada.userId}`, { token: server.token });
    expect(deleted.status).toBe(409);
    expect(deleted.body.error.message).toMatch(/last admin/);
    const demoted = await call(server, 'PATCH', `/users/${ada.userId}`, {
      token: server.token,
      body: { role: 'viewer' },
    });
    expect(demoted.status).toBe(409);
    const bob = await createUser(server, 'bob@example.com', 'admin');
    expect((await call(server, 'DELETE', `/users/${ada.userId}`, { token: server.token })).status).toBe(204);
    expect((await call(server, 'DELETE', `/users/${bob.userId}`, { token: server.token })).status).toBe(409);
  });
});

describe('API tokens', () => {
  it('acts with its role, no higher than its creator, and stops working once revoked', async () => {
    server = await startServer();
    await createUser(server, 'ada@example.com', 'developer');
    const { cookie, csrf } = await signIn(server, 'ada@example.com');
    const tooHigh = await call(server, 'POST', '/tokens', { cookie, csrf, body: { name: 'ci', role: 'admin' } });
    expect(tooHigh.status).toBe(403);
    const created = await call(server, 'POST', '/tokens', { cookie, csrf, body: { name: 'ci', role: 'viewer' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ci', role: 'viewer', lastUsedAt: null });
    expect(created.body.token).toMatch(/^fota_[A-Za-z0-9_-]{43}$/);
    expect(created.body.tokenId).toMatch(/^T/);
    const { token, tokenId } = created.body;

    expect((await call(server, 'GET', '/prototypes', { token })).status).toBe(200);
    expect((await call(server, 'POST', '/prototypes', { token, body: { name: 'p' } })).status).toBe(403);
    const listed = await call(server, 'GET', '/tokens', { cookie });
    expect(listed.body).toHaveLength(1);
    expect(listed.body[0].token).toBeUndefined();
    expect(listed.body[0].lastUsedAt).not.toBeNull();
    // Another user's token is invisible to a non-admin, every token to an admin.
    await tokenFor(server, 'viewer');
    expect((await call(server, 'GET', '/tokens', { cookie })).body).toHaveLength(1);
    expect((await call(server, 'GET', '/tokens', { token: server.token })).body).toHaveLength(2);

    expect((await call(server, 'DELETE', `/tokens/${tokenId}`, { cookie, csrf })).status).toBe(204);
    const revoked = await call(server, 'GET', '/prototypes', { token });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toBe('the bearer token is not valid');
  });

  it("acts with its owner's role once that is lowered, and dies with its owner", async () => {
    server = await startServer();
    const ada = await createUser(server, 'ada@example.com', 'developer');
    const { cookie, csrf } = await signIn(server, 'ada@example.com');
    const created = await call(server, 'POST', '/tokens', { cookie, csrf, body: { name: 'ci', role: 'developer' } });
    const { token } = created.body;
    expect((await call(server, 'POST', '/prototypes', { token, body: { name: 'p' } })).status).toBe(201);
    await call(server, 'PATCH', `/users/${ada.userId}`, { token: server.token, body: { role: 'viewer' } });
    expect((await call(server, 'POST', '/prototypes', { token, body: { name: 'q' } })).status).toBe(403);
    expect((await call(server, 'GET', '/prototypes', { token })).status).toBe(200);
    await call(server, 'DELETE', `/users/${ada.userId}`, { token: server.token });
    expect((await call(server, 'GET', '/prototypes', { token })).status).toBe(401);
  });

  it('stores only the SHA-256 of a token, and scrypt hashes of passwords', async () => {
    server = await startServer();
    await createUser(server, 'ada@example.com', 'viewer', 'the secret password');
    const token = await tokenFor(server, 'developer');
    const { cookie } = await signIn(server, 'ada@example.com', 'the secret password');
    const db = new Database(join(server.dataDir, 'fota.sqlite'), { readonly: true });
    try {
      const tokens = db.prepare('SELECT token_hash FROM api_tokens').all() as Array<{ token_hash: string }>;
      expect(tokens).toEqual([{ token_hash: createHash('sha256').update(token).digest('hex') }]);
      const users = db.prepare('SELECT password_hash FROM users').all() as Array<{ password_hash: string }>;
      expect(users[0]!.password_hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      const sessions = db.prepare('SELECT token_hash FROM sessions').all() as Array<{ token_hash: string }>;
      const secret = cookie.slice('fota_session='.length);
      expect(sessions).toEqual([{ token_hash: createHash('sha256').update(secret).digest('hex') }]);
      const everything = JSON.stringify([
        db.prepare('SELECT * FROM api_tokens').all(),
        db.prepare('SELECT * FROM users').all(),
        db.prepare('SELECT * FROM sessions').all(),
      ]);
      expect(everything).not.toContain(token);
      expect(everything).not.toContain('the secret password');
      expect(everything).not.toContain(secret);
    } finally {
      db.close();
    }
  });
});

describe('viewers', () => {
  it('read everything but device keys, and cannot push, upload, edit, delete or rotate keys', async () => {
    server = await startServer();
    const pid = (await server.api<any>('POST', '/prototypes', { name: 'p' })).body.prototypeId;
    const device = (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'd' })).body;
    const upload = await uploadFirmware(server, pid, { name: 'fw', version: '1' }, 'firmware bytes');
    expect(upload.status).toBe(201);
    const viewer = await tokenFor(server, 'viewer');
    const developer = await tokenFor(server, 'developer');

    const shown = await call(server, 'GET', `/devices/${device.deviceId}`, { token: viewer });
    expect(shown.status).toBe(200);
    expect(shown.body.deviceKey).toBeNull();
    const listed = await call(server, 'GET', `/prototypes/${pid}/devices`, { token: viewer });
    expect(listed.body.map((d: any) => d.deviceKey)).toEqual([null]);
    expect((await call(server, 'GET', `/devices/${device.deviceId}`, { token: developer })).body.deviceKey).toBe(
      device.deviceKey,
    );
    for (const path of [
      '/prototypes',
      `/prototypes/${pid}/firmwares`,
      `/firmwares/${upload.body.fwId}/pushes`,
      '/server',
    ]) {
      expect((await call(server, 'GET', path, { token: viewer })).status, path).toBe(200);
    }

    const refused: Array<[string, string, unknown?]> = [
      ['POST', `/firmwares/${upload.body.fwId}/push`, { deviceIds: [device.deviceId], queueOffline: true }],
      ['POST', `/devices/${device.deviceId}/key`],
      ['PATCH', `/devices/${device.deviceId}`, { name: 'renamed' }],
      ['DELETE', `/devices/${device.deviceId}`],
      ['DELETE', `/firmwares/${upload.body.fwId}`],
      ['PATCH', `/prototypes/${pid}`, { name: 'renamed' }],
      ['DELETE', `/prototypes/${pid}`],
      ['POST', `/prototypes/${pid}/devices`, { name: 'another' }],
      ['POST', '/tokens', { name: 'higher', role: 'developer' }],
    ];
    for (const [method, path, body] of refused) {
      const answer = await call(server, method, path, { token: viewer, body });
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body.error.code).toBe('forbidden');
    }
    const viewerUpload = await uploadFirmware({ ...server, token: viewer }, pid, { name: 'fw', version: '2' }, 'x');
    expect(viewerUpload.status).toBe(403);
    // Nothing changed.
    const after = await call(server, 'GET', `/devices/${device.deviceId}`, { token: developer });
    expect(after.body).toMatchObject({ name: 'd', deviceKey: device.deviceKey });
    expect((await call(server, 'GET', `/prototypes/${pid}/firmwares`, { token: viewer })).body).toHaveLength(1);

    // A developer may.
    expect(
      (await call(server, 'PATCH', `/devices/${device.deviceId}`, { token: developer, body: { name: 'renamed' } }))
        .status,
    ).toBe(200);
  });
});
