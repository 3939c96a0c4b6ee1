import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/raw-http.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

let server: TestServer;
let prototypeId: string;
let device: { deviceId: string; deviceKey: string };
const firmwares: Record<string, any> = {};

beforeAll(async () => {
  server = await startServer({ FOTA_TCP_PUBLIC_HOST: '10.0.0.7', FOTA_TCP_PORT: '443' });
  prototypeId = (await server.api<any>('POST', '/prototypes', { name: 'LinkIt 7697' })).body.prototypeId;
  device = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name: 'unit 1' })).body;
  // 1 and 2.0 are open to all; 3 only follows 2.0; 2.1 only follows 1.
  firmwares['1'] = (await uploadFirmware(server, prototypeId, { name: 'one', version: '1' }, 'v1 bytes')).body;
  firmwares['2.0'] = (
    await uploadFirmware(server, prototypeId, { name: 'two', version: '2.0', releaseNote: 'faster' }, 'v2 bytes')
  ).body;
  firmwares['3'] = (
    await uploadFirmware(
      server,
      prototypeId,
      { name: 'three', version: '3', prerequisites: firmwares['2.0'].fwId },
      'v3',
    )
  ).body;
  firmwares['2.1'] = (
    await uploadFirmware(
      server,
      prototypeId,
      { name: 'two-one', version: '2.1', prerequisites: firmwares['1'].fwId },
      'v21',
    )
  ).body;
});
afterAll(async () => server.stop());

/** A request as a device library writes it: HTTP/1.1, Host, the deviceKey header. */
function deviceRequest(
  method: string,
  path: string,
  options: { key?: string; keyHeader?: string; body?: string; extra?: string } = {},
) {
  const keyLine = options.keyHeader ?? `deviceKey: ${options.key ?? device.deviceKey}`;
  const body = options.body ?? '';
  const length = body === '' && method === 'GET' ? '' : `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  return rawRequest(
    server.port,
    `${method} ${path} HTTP/1.1\r\nHost: api.mediatek.com\r\n${keyLine}\r\n${length}Connection: close\r\n\r\n${body}${options.extra ?? ''}`,
  );
}

const envelope = { apiVersion: expect.any(String), code: 200, message: 'Request has succeeded' };

function errorEnvelope(code: number, message: string) {
  return {
    apiVersion: expect.any(String),
    code,
    message,
    errors: [{ code, message }],
    statusCode: code,
    options: {},
  };
}

describe('compatible firmware before any report', () => {
  it('lists only firmwares without prerequisites, sorted by version, with lowercase fwid', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/firmwares/available`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      ...envelope,
      results: [
        { fwid: firmwares['1'].fwId, name: 'one', description: null, version: '1' },
        { fwid: firmwares['2.0'].fwId, name: 'two', description: 'faster', version: '2.0' },
      ],
    });
  });

  it('adds the url with ?url=true', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/firmwares/available?url=true`);
    const results = JSON.parse(response.body).results;
    expect(results[0].url).toBe(`${server.url}/fw/${firmwares['1'].fwId}`);
    expect(results[0].url).not.toContain(',');
  });
});

describe('report firmware', () => {
  it('records the version and answers its fwId; the management API shows it', async () => {
    const response = await deviceRequest('PUT', `/mcs/v2/devices/${device.deviceId}/firmwares`, {
      body: '{"version":"1"}',
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ...envelope, fwId: firmwares['1'].fwId });
    const seen = await server.api<any>('GET', `/devices/${device.deviceId}`);
    expect(seen.body.firmware).toMatchObject({ fwId: firmwares['1'].fwId, version: '1' });
  });

  it('then offers what follows the reported firmware, without it', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/firmwares/available`);
    expect(JSON.parse(response.body).results.map((r: any) => r.version)).toEqual(['2.0', '2.1']);
  });

  it('refuses an unknown version with the 404 envelope and keeps the last report', async () => {
    const response = await deviceRequest('PUT', `/mcs/v2/devices/${device.deviceId}/firmwares`, {
      body: '{"version":"9.9"}',
    });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toEqual(errorEnvelope(404, '404 Not Found'));
    expect((await server.api<any>('GET', `/devices/${device.deviceId}`)).body.firmware.version).toBe('1');
  });

  it.each([
    ['not JSON', 'version=1'],
    ['no version', '{"v":"1"}'],
    ['an empty body', ''],
    ['a null version', '{"version":null}'],
  ])('refuses %s with the 400 envelope', async (_case, body) => {
    const response = await deviceRequest('PUT', `/mcs/v2/devices/${device.deviceId}/firmwares`, { body });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual(errorEnvelope(400, '400 Bad Request'));
  });
});

describe('compatible firmware by version', () => {
  it('applies the rule to the given version', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/firmwares/available/2.0?url=true`);
    const results = JSON.parse(response.body).results;
    expect(results.map((r: any) => r.version)).toEqual(['1', '3']);
    expect(results[1].url).toBe(`${server.url}/fw/${firmwares['3'].fwId}`);
  });

  it('answers the 404 envelope for a version the prototype does not have', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/firmwares/available/7.7`);
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toEqual(errorEnvelope(404, '404 Not Found'));
  });
});

describe('firmware url and connections', () => {
  it('answers the download url of a firmware of its prototype', async () => {
    const response = await deviceRequest(
      'GET',
      `/mcs/v2/devices/${device.deviceId}/firmwares/${firmwares['3'].fwId}/url`,
    );
    expect(JSON.parse(response.body)).toEqual({ ...envelope, url: `${server.url}/fw/${firmwares['3'].fwId}` });
  });

  it('answers the TCP server address as JSON', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/connections`);
    expect(JSON.parse(response.body)).toEqual({ ...envelope, ip: '10.0.0.7', port: 443 });
  });

  it('answers connections.csv exactly, without a newline', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/connections.csv`);
    expect(response.status).toBe(200);
    expect(response.body).toBe('10.0.0.7,443');
    expect(response.head).toContain('\r\nContent-Length: 12');
  });
});

describe('quirks of real clients', () => {
  it('accepts deviceKey:KEY without a space (mcs.c)', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/connections.csv`, {
      keyHeader: `deviceKey:${device.deviceKey}`,
    });
    expect(response.body).toBe('10.0.0.7,443');
  });

  it('accepts the header name in any case', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/connections.csv`, {
      keyHeader: `DEVICEKEY: ${device.deviceKey}`,
    });
    expect(response.status).toBe(200);
  });

  it('accepts quoted header values (Arduino library)', async () => {
    const response = await rawRequest(
      server.port,
      `PUT /mcs/v2/devices/${device.deviceId}/firmwares HTTP/1.1\r\nHost: 'api.mediatek.com'\r\ndeviceKey: '${device.deviceKey}'\r\nContent-Type: 'text/csv'\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{"version":"1"}`,
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).fwId).toBe(firmwares['1'].fwId);
  });

  it('tolerates four stray bytes after a POST body, then a close (7697 Arduino)', async () => {
    const response = await rawRequest(
      server.port,
      `PUT /mcs/v2/devices/${device.deviceId}/firmwares HTTP/1.1\r\nHost: api.mediatek.com\r\ndeviceKey: ${device.deviceKey}\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"version":"1"}\r\n\r\n`,
      { closeAfterWrite: true },
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ...envelope, fwId: firmwares['1'].fwId });
  });

  it('serves the next request on the same connection after the stray bytes', async () => {
    const first = `PUT /mcs/v2/devices/${device.deviceId}/firmwares HTTP/1.1\r\nHost: a\r\ndeviceKey: ${device.deviceKey}\r\nContent-Length: 15\r\n\r\n{"version":"1"}\r\n\r\n`;
    const second = `GET /mcs/v2/devices/${device.deviceId}/connections.csv HTTP/1.1\r\nHost: a\r\ndeviceKey: ${device.deviceKey}\r\nConnection: close\r\n\r\n`;
    const response = await rawRequest(server.port, first + second, { closeAfterWrite: false });
    expect(response.status).toBe(200);
    expect(response.raw).toContain('10.0.0.7,443');
  });

  it('collapses // in paths (official examples use https://api.mediatek.com//mcs/v2/…)', async () => {
    const response = await deviceRequest('GET', `//mcs/v2/devices/${device.deviceId}/connections.csv`);
    expect(response.status).toBe(200);
    expect(response.body).toBe('10.0.0.7,443');
  });

  it('sends "Content-Length: " in this exact spelling on success and on errors, never chunked', async () => {
    for (const path of [
      `/mcs/v2/devices/${device.deviceId}/firmwares/available`,
      `/mcs/v2/devices/${device.deviceId}/firmwares/available/8.8`,
      `/mcs/v2/devices/${device.deviceId}/nothing`,
    ]) {
      const response = await deviceRequest('GET', path);
      expect(response.head).toMatch(/\r\nContent-Length: \d+(\r\n|$)/);
      expect(response.head.toLowerCase()).not.toContain('transfer-encoding');
    }
  });
});

describe('refusals', () => {
  it('answers 401 with the permission message for a wrong key', async () => {
    const response = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/firmwares/available`, {
      key: 'AAAAAAAAAAAAAAAA',
    });
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body)).toEqual({
      ...errorEnvelope(401, '401 Unauthorized'),
      results: 'you dont have permission!',
    });
  });

  it('answers 401 without a key, and does not record a report', async () => {
    const response = await rawRequest(
      server.port,
      `PUT /mcs/v2/devices/${device.deviceId}/firmwares HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{"version":"2.0"}`,
    );
    expect(response.status).toBe(401);
    expect((await server.api<any>('GET', `/devices/${device.deviceId}`)).body.firmware.version).toBe('1');
  });

  it('answers 404 for an unknown device', async () => {
    const response = await deviceRequest('GET', '/mcs/v2/devices/DXXXXXXX/firmwares/available');
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toEqual(errorEnvelope(404, '404 Not Found'));
  });

  it("never shows or reports another prototype's firmware", async () => {
    const other = (await server.api<any>('POST', '/prototypes', { name: 'other' })).body.prototypeId;
    const foreign = (await uploadFirmware(server, other, { name: 'x', version: '5' }, 'foreign')).body;
    const url = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/firmwares/${foreign.fwId}/url`);
    expect(url.status).toBe(404);
    const report = await deviceRequest('PUT', `/mcs/v2/devices/${device.deviceId}/firmwares`, {
      body: '{"version":"5"}',
    });
    expect(report.status).toBe(404);
    const available = await deviceRequest('GET', `/mcs/v2/devices/${device.deviceId}/firmwares/available/5`);
    expect(available.status).toBe(404);
  });

  it("cannot read another device's data with its own key", async () => {
    const other = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name: 'unit 2' })).body;
    const response = await deviceRequest('GET', `/mcs/v2/devices/${other.deviceId}/connections`, {
      key: device.deviceKey,
    });
    expect(response.status).toBe(401);
  });

  it('refuses a body over the device limit with 413 and the envelope', async () => {
    const response = await deviceRequest('PUT', `/mcs/v2/devices/${device.deviceId}/firmwares`, {
      body: `{"version":"${'1'.repeat(70 * 1024)}"}`,
    });
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toEqual(errorEnvelope(413, '413 Payload Too Large'));
  });

  it('stops accepting the old key once it is rotated', async () => {
    const spare = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name: 'spare' })).body;
    const rotated = (await server.api<any>('POST', `/devices/${spare.deviceId}/key`)).body;
    const old = await deviceRequest('GET', `/mcs/v2/devices/${spare.deviceId}/connections.csv`, {
      key: spare.deviceKey,
    });
    expect(old.status).toBe(401);
    const fresh = await deviceRequest('GET', `/mcs/v2/devices/${spare.deviceId}/connections.csv`, {
      key: rotated.deviceKey,
    });
    expect(fresh.status).toBe(200);
  });
});

describe('increasing policy', () => {
  it('offers a device only versions above the one it reported', async () => {
    const pid = (await server.api<any>('POST', '/prototypes', { name: '7681', versionPolicy: 'increasing' })).body
      .prototypeId;
    const unit = (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'u' })).body;
    for (const version of ['1.2', '1.9', '1.10']) {
      expect((await uploadFirmware(server, pid, { name: version, version }, `b${version}`)).status).toBe(201);
    }
    const report = await deviceRequest('PUT', `/mcs/v2/devices/${unit.deviceId}/firmwares`, {
      key: unit.deviceKey,
      body: '{"version":"1.9"}',
    });
    expect(report.status).toBe(200);
    const response = await deviceRequest('GET', `/mcs/v2/devices/${unit.deviceId}/firmwares/available`, {
      key: unit.deviceKey,
    });
    expect(JSON.parse(response.body).results.map((r: any) => r.version)).toEqual(['1.10']);
  });
});
