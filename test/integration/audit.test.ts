import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportVersion } from '../support/devices.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

/**
 * The audit log over the real server on loopback: every operation of the served OpenAPI document
 * that changes something writes exactly one entry, with its kind, actor, address and result.
 */

let server: TestServer;
const password = 'correct horse battery';
/** Every secret this test hands out: none may appear in the log. */
const secrets: string[] = [password];

interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

interface Caller {
  token?: string;
  cookie?: string;
  csrf?: string;
}

async function call(
  method: string,
  path: string,
  as: Caller,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...extra };
  if (as.token !== undefined) headers['authorization'] = `Bearer ${as.token}`;
  if (as.cookie !== undefined) headers['cookie'] = as.cookie;
  if (as.csrf !== undefined) headers['x-csrf-token'] = as.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path.startsWith('/api/') ? '' : '/api/v1'}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

let admin: Caller;
let developer: Caller & { token: string; tokenId: string };
let viewer: Caller & { token: string; tokenId: string };
let devUserId: string;

async function signIn(email: string): Promise<{ cookie: string; csrf: string }> {
  const answer = await call('POST', '/session', {}, { email, password });
  expect(answer.status).toBe(200);
  return { cookie: answer.headers.get('set-cookie')!.split(';')[0]!, csrf: answer.body.csrfToken };
}

/** A user, signed in, with an API token of their own of their role. */
async function member(email: string, role: string) {
  const created = await call('POST', '/users', admin, { email, password, role });
  expect(created.status).toBe(201);
  const session = await signIn(email);
  const token = await call('POST', '/tokens', session, { name: `${role} token`, role });
  expect(token.status).toBe(201);
  secrets.push(token.body.token);
  return { userId: created.body.userId as string, token: token.body.token as string, tokenId: token.body.tokenId };
}

/** The newest entry's id: what a call adds comes after it. */
async function newestId(): Promise<number> {
  const page = await call('GET', '/audit?limit=1', admin);
  expect(page.status).toBe(200);
  return page.body.entries[0]?.id ?? 0;
}

/** The entries written after `since`, oldest first. */
async function entriesAfter(since: number): Promise<any[]> {
  const page = await call('GET', '/audit?limit=500', admin);
  expect(page.status).toBe(200);
  return (page.body.entries as any[]).filter((entry) => entry.id > since).reverse();
}

/** Runs `action`, and answers it with the one entry it wrote (and fails when it wrote another count). */
async function oneEntry(action: () => Promise<Answer>): Promise<{ answer: Answer; entry: any }> {
  const before = await newestId();
  const answer = await action();
  const entries = await entriesAfter(before);
  expect(entries, `${answer.status} ${answer.text}`).toHaveLength(1);
  return { answer, entry: entries[0] };
}

function expectResult(entry: any, answer: Answer): void {
  expect(entry.address).toBe('127.0.0.1');
  expect(entry.result.status).toBe(answer.status);
  if (answer.status >= 400) {
    expect(entry.result).toEqual({ outcome: 'failure', status: answer.status, code: answer.body.error.code });
  } else {
    expect(entry.result).toEqual({ outcome: 'success', status: answer.status, code: null });
  }
}

beforeAll(async () => {
  server = await startServer();
  secrets.push(server.token);
  admin = { token: server.token };
  const dev = await member('dev@example.com', 'developer');
  devUserId = dev.userId;
  developer = { token: dev.token, tokenId: dev.tokenId };
  const view = await member('view@example.com', 'viewer');
  viewer = { token: view.token, tokenId: view.tokenId };
}, 60_000);
afterAll(async () => server.stop());

describe('the OpenAPI walk', () => {
  const unsafe = ['post', 'put', 'patch', 'delete'];

  it('finds an audit kind on every operation that changes something, and one entry per call of each', async () => {
    const document = (await call('GET', '/api/v1/openapi.json', admin)).body;
    const operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(
      ([path, methods]) =>
        Object.entries(methods)
          // The MCS device API (/mcs/v2) is what devices do, not management.
          .filter(([method]) => unsafe.includes(method) && path.startsWith('/api/v1/'))
          .map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(18);
    const undeclared = operations.filter(({ operation }) => typeof operation['x-audit-kind'] !== 'string');
    expect(
      undeclared.map(({ method, path }) => `${method} ${path}`),
      'declare config: { audit: { kind, target, details } } on these routes (src/http/management/audit-recorder.ts)',
    ).toEqual([]);

    for (const { path, method, operation } of operations) {
      // Invalid on purpose, as a viewer: ids that do not exist, an empty body.
      const url = path.replace(/\{[^}]+\}/g, 'Xnope');
      const json = operation.requestBody?.content?.['application/json'] !== undefined;
      const { answer, entry } = await oneEntry(() => call(method, url, viewer, json ? {} : undefined));
      expect(entry.kind, `${method} ${path}`).toBe(operation['x-audit-kind']);
      expectResult(entry, answer);
      if (path === '/api/v1/session') {
        // Signing in and out read their own credentials, not the bearer token.
        expect(entry.actor.type).toBe('anonymous');
      } else {
        expect(entry.actor).toEqual({
          type: 'token',
          userId: expect.any(String),
          name: 'view@example.com',
          role: 'viewer',
          tokenId: viewer.tokenId,
          tokenName: 'viewer token',
        });
      }
    }
  });

  it('records each action once when it succeeds, with its target and details', async () => {
    const seen = new Set<string>();
    let last: any;
    const check = async (
      kind: string,
      action: () => Promise<Answer>,
      expected: { target?: unknown; details?: Record<string, unknown>; actor?: Record<string, unknown> } = {},
    ) => {
      const { answer, entry } = await oneEntry(action);
      expect(answer.status, answer.text).toBeLessThan(300);
      expect(entry.kind).toBe(kind);
      expectResult(entry, answer);
      expect(entry.actor).toMatchObject(
        expected.actor ?? { type: 'token', name: 'dev@example.com', role: 'developer' },
      );
      if (expected.target !== undefined) expect(entry.target).toEqual(expected.target);
      if (expected.details !== undefined) expect(entry.details).toMatchObject(expected.details);
      seen.add(kind);
      last = entry;
      return answer;
    };

    const prototype = await check(
      'prototype.create',
      () => call('POST', '/prototypes', developer, { name: 'lamp', versionPolicy: 'any' }),
      { details: { name: 'lamp', versionPolicy: 'any' } },
    );
    const pid = prototype.body.prototypeId as string;
    const { entry: created } = await oneEntry(() => call('PATCH', `/prototypes/${pid}`, developer, { name: 'lamp 2' }));
    expect(created).toMatchObject({ kind: 'prototype.update', target: { type: 'prototype', id: pid } });
    seen.add('prototype.update');

    const device = await check(
      'device.create',
      () => call('POST', `/prototypes/${pid}/devices`, developer, { name: 'd1' }),
      {
        details: { name: 'd1', prototypeId: pid },
      },
    );
    const deviceId = device.body.deviceId as string;
    secrets.push(device.body.deviceKey);
    await check('device.update', () => call('PATCH', `/devices/${deviceId}`, developer, { name: 'd2' }), {
      target: { type: 'device', id: deviceId },
    });
    const rotated = await check('device.rotate-key', () => call('POST', `/devices/${deviceId}/key`, developer), {
      target: { type: 'device', id: deviceId },
      details: {},
    });
    secrets.push(rotated.body.deviceKey);

    const before = await newestId();
    const upload = await uploadFirmware(server, pid, { name: 'fw', version: '1.0' }, 'firmware bytes');
    expect(upload.status).toBe(201);
    const [uploaded] = await entriesAfter(before);
    expect(uploaded).toMatchObject({
      kind: 'firmware.upload',
      actor: { type: 'admin', name: 'admin' },
      target: { type: 'firmware', id: upload.body.fwId },
      details: { name: 'fw', version: '1.0' },
      result: { outcome: 'success', status: 201 },
    });
    seen.add('firmware.upload');
    const fwId = upload.body.fwId as string;
    await check('firmware.update', () => call('PATCH', `/firmwares/${fwId}`, developer, { name: 'fw 1' }), {
      target: { type: 'firmware', id: fwId },
    });
    const push = await check(
      'push.create',
      () => call('POST', `/firmwares/${fwId}/push`, developer, { deviceIds: [deviceId] }),
      { details: { fwId, devices: 1 } },
    );
    expect(last.target).toEqual({ type: 'push', id: push.body.pushId });

    const user = await check(
      'user.create',
      () => call('POST', '/users', admin, { email: 'Eve@Example.com', password, role: 'viewer' }),
      { actor: { type: 'admin' }, details: { email: 'Eve@Example.com', role: 'viewer' } },
    );
    await check('user.update', () => call('PATCH', `/users/${user.body.userId}`, admin, { password: `${password}!` }), {
      actor: { type: 'admin' },
      target: { type: 'user', id: user.body.userId },
      details: { passwordChanged: true },
    });
    secrets.push(`${password}!`);
    const session = await check(
      'session.sign-in',
      () => call('POST', '/session', {}, { email: 'eve@example.com', password: `${password}!` }),
      {
        actor: { type: 'user', name: 'eve@example.com', role: 'viewer', userId: user.body.userId },
        target: { type: 'account', id: 'eve@example.com' },
        details: { method: 'password' },
      },
    );
    const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
    const token = await check(
      'token.create',
      () => call('POST', '/tokens', { cookie, csrf: session.body.csrfToken }, { name: 'eve ci', role: 'viewer' }),
      { actor: { type: 'user', name: 'eve@example.com' }, details: { name: 'eve ci', role: 'viewer' } },
    );
    secrets.push(token.body.token);
    await check(
      'token.revoke',
      () => call('DELETE', `/tokens/${token.body.tokenId}`, { cookie, csrf: session.body.csrfToken }),
      {
        actor: { type: 'user', name: 'eve@example.com' },
        target: { type: 'token', id: token.body.tokenId },
      },
    );
    await check('session.sign-out', () => call('DELETE', '/session', { cookie, csrf: session.body.csrfToken }), {
      actor: { type: 'user', name: 'eve@example.com' },
    });
    await check('user.delete', () => call('DELETE', `/users/${user.body.userId}`, admin), {
      actor: { type: 'admin' },
      target: { type: 'user', id: user.body.userId },
    });
    await check('device.delete', () => call('DELETE', `/devices/${deviceId}`, developer));
    await check('firmware.delete', () => call('DELETE', `/firmwares/${fwId}?force=true`, developer), {
      details: { force: true },
    });
    await check('prototype.delete', () => call('DELETE', `/prototypes/${pid}`, developer), {
      target: { type: 'prototype', id: pid },
      details: { force: false },
    });

    const document = (await call('GET', '/api/v1/openapi.json', admin)).body;
    const kinds = Object.values(document.paths as Record<string, Record<string, any>>).flatMap((methods) =>
      Object.values(methods).flatMap((operation) => operation['x-audit-kind'] ?? []),
    );
    // The kinds of this branch; a route added later is walked above, invalid, until a case joins here.
    for (const kind of [...seen]) expect(kinds).toContain(kind);
    expect(seen.size).toBe(18);
  });
});

describe('what is recorded and what is not', () => {
  it('records failed sign-ins, a wrong bearer token and a refused CSRF check, but no request without credentials', async () => {
    const wrong = await oneEntry(() =>
      call('POST', '/session', {}, { email: 'Dev@Example.com', password: 'not it at all' }),
    );
    expect(wrong.entry).toMatchObject({
      kind: 'session.sign-in',
      actor: { type: 'anonymous', name: null },
      target: { type: 'account', id: 'dev@example.com' },
      result: { outcome: 'failure', status: 401, code: 'unauthenticated' },
      details: { method: 'password' },
    });
    const adminToken = await oneEntry(() => call('POST', '/session', {}, { adminToken: 'wrong-admin-token-000' }));
    expect(adminToken.entry).toMatchObject({
      target: { type: 'account', id: 'admin' },
      details: { method: 'adminToken' },
      result: { status: 401 },
    });

    const bearer = await oneEntry(() => call('POST', '/prototypes', { token: 'fota_not_a_token' }, { name: 'x' }));
    expect(bearer.entry).toMatchObject({
      kind: 'prototype.create',
      actor: { type: 'anonymous' },
      result: { status: 401 },
    });

    const session = await signIn('dev@example.com');
    const csrf = await oneEntry(() => call('POST', '/prototypes', { cookie: session.cookie }, { name: 'x' }));
    expect(csrf.entry).toMatchObject({
      kind: 'prototype.create',
      actor: { type: 'user', name: 'dev@example.com', userId: devUserId, role: 'developer', tokenId: null },
      result: { outcome: 'failure', status: 403, code: 'forbidden' },
    });

    const before = await newestId();
    expect((await call('POST', '/prototypes', {}, { name: 'x' })).status).toBe(401);
    expect((await call('GET', '/prototypes', developer)).status).toBe(200);
    expect((await call('GET', '/nothing-here', developer)).status).toBe(404);
    expect((await call('POST', '/nothing-here', developer, {})).status).toBe(404);
    expect(await entriesAfter(before)).toEqual([]);
  });

  it('does not record what devices do on the MCS device API', async () => {
    const pid = (await call('POST', '/prototypes', developer, { name: 'mcs' })).body.prototypeId;
    const device = (await call('POST', `/prototypes/${pid}/devices`, developer, { name: 'd' })).body;
    secrets.push(device.deviceKey);
    const before = await newestId();
    // No firmware 1.0 exists: the device is answered 404, as MCS does, and it is still no management action.
    expect(await reportVersion(server, device, '1.0')).toBe(404);
    expect(await entriesAfter(before)).toEqual([]);
  });

  it('never holds a password, a token or a device key', async () => {
    const exported = await call('GET', '/audit/export?format=json', admin);
    expect(exported.status).toBe(200);
    expect(exported.body.length).toBeGreaterThan(20);
    for (const secret of secrets) expect(exported.text).not.toContain(secret);
  });
});

describe('reading the log', () => {
  it('is for admins only', async () => {
    for (const caller of [developer, viewer]) {
      expect((await call('GET', '/audit', caller)).body.error.code).toBe('forbidden');
      const exported = await call('GET', '/audit/export?format=csv', caller);
      expect(exported.status).toBe(403);
      expect(exported.body.error.code).toBe('forbidden');
    }
  });

  it('filters by actor, kind and time, and pages with the cursor', async () => {
    const start = new Date();
    for (const name of ['a', 'b', 'c']) expect((await call('POST', '/prototypes', viewer, { name })).status).toBe(403);
    const mine = await call(
      'GET',
      `/audit?actor=view@example.com&kind=prototype.create&since=${start.toISOString()}`,
      admin,
    );
    expect(mine.body.entries.map((entry: any) => entry.details.name)).toEqual(['c', 'b', 'a']);
    const byToken = await call(
      'GET',
      `/audit?actor=${viewer.tokenId}&kind=prototype.create&since=${start.toISOString()}`,
      admin,
    );
    expect(byToken.body.entries).toHaveLength(3);
    const none = await call('GET', `/audit?actor=nobody@example.com`, admin);
    expect(none.body).toEqual({ entries: [], nextCursor: null });
    const until = await call(
      'GET',
      `/audit?until=${start.toISOString()}&kind=prototype.create&actor=view@example.com`,
      admin,
    );
    expect(until.body.entries.every((entry: any) => entry.at < start.toISOString())).toBe(true);

    const first = await call('GET', `/audit?actor=view@example.com&since=${start.toISOString()}&limit=2`, admin);
    expect(first.body.entries).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(
      'GET',
      `/audit?actor=view@example.com&since=${start.toISOString()}&limit=2&cursor=${first.body.nextCursor}`,
      admin,
    );
    expect(second.body.entries.map((entry: any) => entry.details.name)).toEqual(['a']);
    expect(second.body.nextCursor).toBeNull();
  });

  it('refuses filters it cannot read', async () => {
    for (const query of [
      'limit=0',
      'limit=501',
      'since=yesterday',
      'cursor=bm90IGEgY3Vyc29y',
      'since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z',
    ]) {
      const answer = await call('GET', `/audit?${query}`, admin);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code).toBe('invalid_input');
    }
    expect((await call('GET', '/audit/export?format=xml', admin)).status).toBe(400);
  });

  it('exports CSV with commas, quotes and line breaks escaped, and formulas defused', async () => {
    const start = new Date().toISOString();
    const name = 'lamp, "desk"\nsecond line';
    expect((await call('POST', '/prototypes', developer, { name })).status).toBe(201);
    expect((await call('POST', '/prototypes', developer, { name: '=HYPERLINK("x")' })).status).toBe(201);
    const answer = await call('GET', `/audit/export?format=csv&kind=prototype.create&since=${start}`, admin);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(answer.headers.get('content-disposition')).toMatch(/^attachment; filename="fota-audit-.*\.csv"$/);
    const rows = parseCsv(answer.text);
    expect(rows[0]).toEqual([
      'id',
      'at',
      'actorType',
      'actorName',
      'actorUserId',
      'actorRole',
      'tokenId',
      'tokenName',
      'address',
      'kind',
      'targetType',
      'targetId',
      'outcome',
      'status',
      'errorCode',
      'details',
    ]);
    expect(rows).toHaveLength(3);
    const [formula, quoted] = [rows[1]!, rows[2]!];
    expect(JSON.parse(quoted[15]!).name).toBe(name);
    expect(quoted.slice(2, 4)).toEqual(['token', 'dev@example.com']);
    expect(quoted[8]).toBe('127.0.0.1');
    // The details column is JSON, whose first character is `{`: only a bare text can be a formula.
    expect(JSON.parse(formula[15]!).name).toBe('=HYPERLINK("x")');
    expect(answer.text).toContain('"{""name"":""lamp, \\""desk\\""\\nsecond line""}"');

    const json = await call('GET', `/audit/export?format=json&kind=prototype.create&since=${start}`, admin);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(json.body.map((entry: any) => entry.details.name)).toEqual(['=HYPERLINK("x")', name]);
    const empty = await call('GET', '/audit/export?format=json&actor=nobody', admin);
    expect(empty.body).toEqual([]);
  });
});

/** RFC 4180, as a spreadsheet reads it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += char;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}
