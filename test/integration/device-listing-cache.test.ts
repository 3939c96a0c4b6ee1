import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

/**
 * The firmware listing of the MCS device API is answered from bytes kept per firmware list, policy
 * and current firmware. Each case asks once so that the answer is kept, changes something through
 * the real API, and checks that the next answer shows the change: a kept answer never outlives it.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server.stop());

interface Unit {
  readonly deviceId: string;
  readonly deviceKey: string;
}

async function prototypeWith(
  versions: readonly string[],
  versionPolicy: 'any' | 'increasing' = 'any',
): Promise<{ pid: string; unit: Unit; ids: Record<string, string> }> {
  const pid = (await server.api<any>('POST', '/prototypes', { name: 'cached', versionPolicy })).body.prototypeId;
  const unit = (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'u' })).body as Unit;
  const ids: Record<string, string> = {};
  for (const version of versions) {
    const answer = await uploadFirmware(server, pid, { name: `fw ${version}`, version }, `${pid} ${version}`);
    expect(answer.status).toBe(201);
    ids[version] = answer.body.fwId;
  }
  return { pid, unit, ids };
}

async function device(unit: Unit, method: string, path: string, body?: string, key = unit.deviceKey) {
  const response = await fetch(`${server.url}/mcs/v2/devices/${unit.deviceId}${path}`, {
    method,
    headers: { deviceKey: key },
    body,
  });
  return { status: response.status, text: await response.text() };
}

async function listed(unit: Unit, path = '/firmwares/available', key = unit.deviceKey): Promise<string[]> {
  const { status, text } = await device(unit, 'GET', path, undefined, key);
  expect(status, text).toBe(200);
  return (JSON.parse(text).results as { version: string }[]).map((entry) => entry.version);
}

describe('the kept firmware listing', () => {
  it('answers the same bytes while nothing changes', async () => {
    const { unit } = await prototypeWith(['1', '2']);
    const first = await device(unit, 'GET', '/firmwares/available?url=true');
    const second = await device(unit, 'GET', '/firmwares/available?url=true');
    expect(second).toEqual(first);
    expect(JSON.parse(first.text).results).toHaveLength(2);
  });

  it('shows a firmware uploaded after it was kept, with and without url', async () => {
    const { pid, unit } = await prototypeWith(['1']);
    expect(await listed(unit)).toEqual(['1']);
    expect(await listed(unit, '/firmwares/available?url=true')).toEqual(['1']);
    expect((await uploadFirmware(server, pid, { name: 'two', version: '2' }, `${pid} two`)).status).toBe(201);
    expect(await listed(unit)).toEqual(['1', '2']);
    expect(await listed(unit, '/firmwares/available?url=true')).toEqual(['1', '2']);
  });

  it('shows a changed name, release note and prerequisites', async () => {
    const { unit, ids } = await prototypeWith(['1', '2']);
    const before = JSON.parse((await device(unit, 'GET', '/firmwares/available')).text).results;
    expect(before[1]).toMatchObject({ name: 'fw 2', description: null });
    const patched = await server.api('PATCH', `/firmwares/${ids['2']}`, { name: 'renamed', releaseNote: 'notes' });
    expect(patched.status).toBe(200);
    const after = JSON.parse((await device(unit, 'GET', '/firmwares/available')).text).results;
    expect(after[1]).toMatchObject({ fwid: ids['2'], name: 'renamed', description: 'notes', version: '2' });
    // Limited to devices running 1: a device that never reported no longer sees it.
    expect((await server.api('PATCH', `/firmwares/${ids['2']}`, { prerequisites: [ids['1']] })).status).toBe(200);
    expect(await listed(unit)).toEqual(['1']);
  });

  it('drops a deleted firmware', async () => {
    const { unit, ids } = await prototypeWith(['1', '2', '3']);
    expect(await listed(unit, '/firmwares/available/1')).toEqual(['2', '3']);
    expect(await listed(unit)).toEqual(['1', '2', '3']);
    expect((await server.api('DELETE', `/firmwares/${ids['2']}`)).status).toBe(204);
    expect(await listed(unit, '/firmwares/available/1')).toEqual(['3']);
    expect(await listed(unit)).toEqual(['1', '3']);
    const gone = await device(unit, 'GET', '/firmwares/available/2');
    expect(gone.status).toBe(404);
  });

  it('follows a report of the device', async () => {
    const { unit } = await prototypeWith(['1', '2', '3']);
    expect(await listed(unit)).toEqual(['1', '2', '3']);
    expect((await device(unit, 'PUT', '/firmwares', '{"version":"2"}')).status).toBe(200);
    expect(await listed(unit)).toEqual(['1', '3']);
    expect((await device(unit, 'PUT', '/firmwares', '{"version":"3"}')).status).toBe(200);
    expect(await listed(unit)).toEqual(['1', '2']);
  });

  it('answers a second device of the prototype from its own report, not the first one', async () => {
    const { pid, unit } = await prototypeWith(['1', '2']);
    const other = (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'v' })).body as Unit;
    expect((await device(unit, 'PUT', '/firmwares', '{"version":"1"}')).status).toBe(200);
    expect(await listed(unit)).toEqual(['2']);
    expect(await listed(other)).toEqual(['1', '2']);
  });

  it('refuses the old key once it is rotated, and lists for the new one', async () => {
    const { unit } = await prototypeWith(['1']);
    expect(await listed(unit)).toEqual(['1']);
    const rotated = (await server.api<any>('POST', `/devices/${unit.deviceId}/key`)).body;
    expect(rotated.deviceKey).not.toBe(unit.deviceKey);
    const old = await device(unit, 'GET', '/firmwares/available');
    expect(old.status).toBe(401);
    expect(JSON.parse(old.text).results).toBe('you dont have permission!');
    expect(await listed(unit, '/firmwares/available', rotated.deviceKey)).toEqual(['1']);
  });

  it('follows a change of the version policy', async () => {
    const { pid, unit } = await prototypeWith(['1', '2', '3'], 'increasing');
    expect((await device(unit, 'PUT', '/firmwares', '{"version":"2"}')).status).toBe(200);
    expect(await listed(unit)).toEqual(['3']);
    expect((await server.api('PATCH', `/prototypes/${pid}`, { versionPolicy: 'any' })).status).toBe(200);
    expect(await listed(unit)).toEqual(['1', '3']);
    expect((await server.api('PATCH', `/prototypes/${pid}`, { versionPolicy: 'increasing' })).status).toBe(200);
    expect(await listed(unit)).toEqual(['3']);
  });

  it('answers 404 once the device or its prototype is deleted', async () => {
    const { pid, unit } = await prototypeWith(['1']);
    const other = (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'v' })).body as Unit;
    expect(await listed(unit)).toEqual(['1']);
    expect(await listed(other)).toEqual(['1']);
    expect((await server.api('DELETE', `/devices/${unit.deviceId}`)).status).toBe(204);
    expect((await device(unit, 'GET', '/firmwares/available')).status).toBe(404);
    expect((await server.api('DELETE', `/prototypes/${pid}?force=true`)).status).toBe(204);
    expect((await device(other, 'GET', '/firmwares/available')).status).toBe(404);
  });
});
