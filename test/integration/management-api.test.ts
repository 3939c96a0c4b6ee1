import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server.stop());

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

async function newPrototype(body: Record<string, unknown> = { name: 'Prototype' }): Promise<string> {
  const { status, body: created } = await server.api<{ prototypeId: string }>('POST', '/prototypes', body);
  expect(status).toBe(201);
  return created.prototypeId;
}

describe('authentication', () => {
  it.each([
    ['no header', undefined],
    ['a wrong token', 'Bearer not-the-token-at-all'],
    ['another scheme', 'Basic YWRtaW46YWRtaW4='],
  ])('answers 401 with %s', async (_name, authorization) => {
    const response = await fetch(`${server.url}/api/v1/prototypes`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
    expect(await response.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
  });

  it('checks the token on unknown routes too', async () => {
    const response = await fetch(`${server.url}/api/v1/nothing-here`);
    expect(response.status).toBe(401);
  });

  it('answers 404 in the error envelope for an unknown route with a token', async () => {
    const { status, body } = await server.api('GET', '/nothing-here');
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });
});

describe('prototypes', () => {
  it('creates, lists, reads, changes and deletes a prototype', async () => {
    const created = await server.api<any>('POST', '/prototypes', {
      name: 'LinkIt 7697 lamp',
      description: 'desk lamp',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'LinkIt 7697 lamp',
      description: 'desk lamp',
      versionPolicy: 'any',
    });
    expect(created.body.prototypeId).toMatch(/^P[A-Za-z0-9]{11}$/);
    const id = created.body.prototypeId;

    const list = await server.api<any[]>('GET', '/prototypes');
    expect(list.body.map((p) => p.prototypeId)).toContain(id);

    const patched = await server.api<any>('PATCH', `/prototypes/${id}`, {
      name: 'Lamp v2',
      versionPolicy: 'increasing',
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ prototypeId: id, name: 'Lamp v2', versionPolicy: 'increasing' });
    expect((await server.api<any>('GET', `/prototypes/${id}`)).body.name).toBe('Lamp v2');

    expect((await server.api('DELETE', `/prototypes/${id}`)).status).toBe(204);
    expect((await server.api('GET', `/prototypes/${id}`)).status).toBe(404);
  });

  it.each([
    ['no name', {}],
    ['an empty name', { name: '   ' }],
    ['a name too long', { name: 'x'.repeat(101) }],
    ['an unknown policy', { name: 'a', versionPolicy: 'newest' }],
    ['an unknown field', { name: 'a', colour: 'red' }],
    ['a name of the wrong type', { name: 42 }],
  ])('refuses %s with 400', async (_case, body: Record<string, unknown>) => {
    const { status, body: answer } = await server.api<any>('POST', '/prototypes', body);
    expect(status).toBe(400);
    expect(answer.error.code).toBe('invalid_input');
    expect((await server.api<any[]>('GET', '/prototypes')).body.some((p) => p.name === body.name)).toBe(false);
  });

  it('refuses a body that is not JSON', async () => {
    const response = await fetch(`${server.url}/api/v1/prototypes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.code).toBe('invalid_input');
  });

  it('refuses to delete a prototype in use unless forced, then deletes its firmware files', async () => {
    const id = await newPrototype();
    const upload = await uploadFirmware(server, id, { name: 'fw', version: '1' }, 'bytes only here');
    expect(upload.status).toBe(201);
    const refused = await server.api<any>('DELETE', `/prototypes/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('in_use');
    expect((await server.api('DELETE', `/prototypes/${id}?force=true`)).status).toBe(204);
    expect((await server.api('GET', `/firmwares/${upload.body.fwId}`)).status).toBe(404);
    expect((await fetch(upload.body.url)).status).toBe(404);
  });

  it('refuses to switch to increasing when versions already go down', async () => {
    const id = await newPrototype();
    expect((await uploadFirmware(server, id, { name: 'a', version: '2.0' }, 'two')).status).toBe(201);
    expect((await uploadFirmware(server, id, { name: 'b', version: '1.0' }, 'one')).status).toBe(201);
    const { status, body } = await server.api<any>('PATCH', `/prototypes/${id}`, { versionPolicy: 'increasing' });
    expect(status).toBe(409);
    expect(body.error.message).toContain('1.0');
  });
});

describe('devices', () => {
  it('creates a device with a random key, lists, renames, rotates the key and deletes it', async () => {
    const pid = await newPrototype();
    const created = await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'bench unit 1' });
    expect(created.status).toBe(201);
    expect(created.body.deviceId).toMatch(/^D[A-Za-z0-9]{7}$/);
    expect(created.body.deviceKey).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(created.body).toMatchObject({ prototypeId: pid, name: 'bench unit 1', firmware: null });
    const id = created.body.deviceId;

    const second = await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'bench unit 2' });
    expect(second.body.deviceKey).not.toBe(created.body.deviceKey);
    const list = await server.api<any[]>('GET', `/prototypes/${pid}/devices`);
    expect(list.body.map((d) => d.deviceId)).toEqual([id, second.body.deviceId]);

    const renamed = await server.api<any>('PATCH', `/devices/${id}`, { name: 'renamed', description: 'on the shelf' });
    expect(renamed.body).toMatchObject({ name: 'renamed', description: 'on the shelf' });

    const rotated = await server.api<any>('POST', `/devices/${id}/key`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.deviceKey).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(rotated.body.deviceKey).not.toBe(created.body.deviceKey);
    expect((await server.api<any>('GET', `/devices/${id}`)).body.deviceKey).toBe(rotated.body.deviceKey);

    expect((await server.api('DELETE', `/devices/${id}`)).status).toBe(204);
    expect((await server.api('GET', `/devices/${id}`)).status).toBe(404);
  });

  it('answers 404 for devices of an unknown prototype', async () => {
    expect((await server.api('POST', '/prototypes/P00000000000/devices', { name: 'x' })).status).toBe(404);
    expect((await server.api('GET', '/prototypes/P00000000000/devices')).status).toBe(404);
    expect((await server.api('POST', '/devices/D0000000/key')).status).toBe(404);
  });
});

describe('firmwares', () => {
  it('uploads a firmware and answers every field', async () => {
    const pid = await newPrototype();
    const content = Buffer.from('firmware image \x00\x01\x02 with some bytes');
    const { status, body } = await uploadFirmware(
      server,
      pid,
      { name: 'Initial', version: 'v1.0.0', releaseNote: 'first', checksum: md5(content).toUpperCase() },
      content,
      'lamp.bin',
    );
    expect(status).toBe(201);
    expect(body).toEqual({
      fwId: expect.stringMatching(/^F[A-Za-z0-9]{11}$/),
      prototypeId: pid,
      name: 'Initial',
      version: 'v1.0.0',
      releaseNote: 'first',
      fileName: 'lamp.bin',
      size: content.length,
      md5: md5(content),
      sha256: sha256(content),
      prerequisites: 'all',
      url: `${server.url}/fw/${body.fwId}`,
      createdAt: expect.any(String),
    });
    expect((await server.api('GET', `/firmwares/${body.fwId}`)).body).toEqual(body);
  });

  it('lists firmwares sorted by version, not by upload order', async () => {
    const pid = await newPrototype();
    for (const version of ['1.10', '1.9', 'v1.2', '1.0.0-rc.1', '1.0.0', 'nightly']) {
      expect((await uploadFirmware(server, pid, { name: version, version }, `content ${version}`)).status).toBe(201);
    }
    const list = await server.api<any[]>('GET', `/prototypes/${pid}/firmwares`);
    expect(list.body.map((f) => f.version)).toEqual(['1.0.0-rc.1', '1.0.0', 'v1.2', '1.9', '1.10', 'nightly']);
  });

  it('keeps prerequisites, changes them, and refuses one from another prototype', async () => {
    const pid = await newPrototype();
    const other = await newPrototype();
    const a = (await uploadFirmware(server, pid, { name: 'a', version: '1' }, 'a')).body;
    const b = (await uploadFirmware(server, pid, { name: 'b', version: '2', prerequisites: a.fwId }, 'b')).body;
    expect(b.prerequisites).toEqual([a.fwId]);
    const foreign = (await uploadFirmware(server, other, { name: 'x', version: '1' }, 'x')).body;

    const refused = await uploadFirmware(server, pid, { name: 'c', version: '3', prerequisites: foreign.fwId }, 'c');
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain(foreign.fwId);

    const patched = await server.api<any>('PATCH', `/firmwares/${b.fwId}`, {
      name: 'b renamed',
      releaseNote: 'fixes',
      prerequisites: 'all',
    });
    expect(patched.body).toMatchObject({ name: 'b renamed', releaseNote: 'fixes', prerequisites: 'all' });
    expect((await server.api<any>('PATCH', `/firmwares/${b.fwId}`, { prerequisites: [foreign.fwId] })).status).toBe(
      400,
    );
    expect((await server.api<any>('PATCH', `/firmwares/${b.fwId}`, { prerequisites: [b.fwId] })).status).toBe(400);
    const list = await server.api<any[]>('GET', `/prototypes/${pid}/firmwares`);
    expect(list.body.map((f) => f.version)).toEqual(['1', '2']);
  });

  it('refuses a duplicate version with 409', async () => {
    const pid = await newPrototype();
    expect((await uploadFirmware(server, pid, { name: 'a', version: '2.0' }, 'a')).status).toBe(201);
    const { status, body } = await uploadFirmware(server, pid, { name: 'b', version: '2.0' }, 'b');
    expect(status).toBe(409);
    expect(body.error.code).toBe('duplicate');
  });

  it('refuses a version that is not higher under increasing with 409', async () => {
    const pid = await newPrototype({ name: '7681 board', versionPolicy: 'increasing' });
    expect((await uploadFirmware(server, pid, { name: 'a', version: '1.10' }, 'a')).status).toBe(201);
    for (const version of ['1.9', '1.10.0', 'v1.1']) {
      const { status, body } = await uploadFirmware(server, pid, { name: 'b', version }, `b ${version}`);
      expect(status).toBe(409);
      expect(body.error.code).toBe(version === '1.10.0' ? 'version_not_higher' : 'version_not_higher');
    }
    const unordered = await uploadFirmware(server, pid, { name: 'n', version: 'nightly' }, 'n');
    expect(unordered.status).toBe(400);
    expect((await uploadFirmware(server, pid, { name: 'c', version: '1.11' }, 'c')).status).toBe(201);
  });

  it('deletes a firmware a device runs or another lists only with force', async () => {
    const pid = await newPrototype();
    const a = (await uploadFirmware(server, pid, { name: 'a', version: '1' }, 'aa')).body;
    const b = (await uploadFirmware(server, pid, { name: 'b', version: '2', prerequisites: a.fwId }, 'bb')).body;
    const device = (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'd' })).body;
    const report = await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
      method: 'PUT',
      headers: { deviceKey: device.deviceKey },
      body: JSON.stringify({ version: '1' }),
    });
    expect(report.status).toBe(200);

    const refused = await server.api<any>('DELETE', `/firmwares/${a.fwId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(device.deviceId);
    expect(refused.body.error.message).toContain(b.fwId);
    expect((await fetch(a.url)).status).toBe(200);

    expect((await server.api('DELETE', `/firmwares/${a.fwId}?force=true`)).status).toBe(204);
    expect((await fetch(a.url)).status).toBe(404);
    expect((await server.api<any>('GET', `/firmwares/${b.fwId}`)).body.prerequisites).toEqual([]);
    expect((await server.api<any>('GET', `/devices/${device.deviceId}`)).body.firmware).toMatchObject({
      fwId: null,
      version: '1',
    });
  });

  it('stores the same bytes once and keeps them while one firmware still uses them', async () => {
    const pid = await newPrototype();
    const first = (await uploadFirmware(server, pid, { name: 'a', version: '1' }, 'same bytes')).body;
    const second = (await uploadFirmware(server, pid, { name: 'b', version: '2' }, 'same bytes')).body;
    expect(second.sha256).toBe(first.sha256);
    expect((await server.api('DELETE', `/firmwares/${first.fwId}`)).status).toBe(204);
    const download = await fetch(second.url);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('same bytes');
  });
});

describe('OpenAPI', () => {
  it('serves an OpenAPI 3 document generated from the route schemas', async () => {
    const response = await fetch(`${server.url}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as any;
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/prototypes',
        '/api/v1/prototypes/{pid}',
        '/api/v1/prototypes/{pid}/devices',
        '/api/v1/devices/{deviceId}/key',
        '/api/v1/prototypes/{pid}/firmwares',
        '/api/v1/firmwares/{fwId}',
        '/api/v1/firmwares/{fwId}/push',
        '/api/v1/pushes/{pushId}',
        '/api/v1/pushes/{pushId}/targets',
        '/api/v1/devices/{deviceId}/pushes',
        '/api/v1/events',
        '/api/v1/prototypes/{pid}/signing-key',
        '/api/v1/prototypes/{pid}/signing-keys',
        '/api/v1/firmwares/{fwId}/signatures',
        '/api/v1/firmwares/{fwId}/manifest',
      ]),
    );
    // The push answers are described: a summary with a derived status, and pages of targets.
    const summary =
      document.paths['/api/v1/firmwares/{fwId}/push'].post.responses['201'].content['application/json'].schema;
    expect(JSON.stringify(summary)).toContain('in_progress');
    const page = document.paths['/api/v1/pushes/{pushId}/targets'].get;
    expect(page.parameters.map((parameter: any) => parameter.name).sort()).toEqual([
      'cursor',
      'limit',
      'pushId',
      'status',
    ]);
    expect(JSON.stringify(page.responses['200'])).toContain('nextCursor');
    const upload = document.paths['/api/v1/prototypes/{pid}/firmwares'].post;
    expect(Object.keys(upload.requestBody.content)).toContain('multipart/form-data');
  });

  it('serves browsable docs', async () => {
    const response = await fetch(`${server.url}/api/docs/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('swagger');
  });
});
