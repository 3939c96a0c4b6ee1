import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http-get.js';
import { rawRequest } from '../support/raw-http.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

let server: TestServer;
let firmware: any;
const content = randomBytes(3 * 1024 * 1024 + 17);
const sha256 = createHash('sha256').update(content).digest('hex');
const md5 = createHash('md5').update(content).digest('hex');

beforeAll(async () => {
  server = await startServer();
  const pid = (await server.api<any>('POST', '/prototypes', { name: 'downloads' })).body.prototypeId;
  firmware = (await uploadFirmware(server, pid, { name: 'big', version: '1.0' }, content, 'gateway-1.0.bin')).body;
});
afterAll(async () => server.stop());

describe('GET /fw/:fwId', () => {
  it('streams the whole firmware over plain HTTP with its validators and checksums', async () => {
    expect(firmware.url).toBe(`${server.url}/fw/${firmware.fwId}`);
    const answer = await httpRequest(firmware.url);
    expect(answer.status).toBe(200);
    expect(createHash('sha256').update(answer.body).digest('hex')).toBe(sha256);
    expect(answer.headers).toMatchObject({
      'content-length': String(content.length),
      'content-type': 'application/octet-stream',
      etag: `"${sha256}"`,
      'accept-ranges': 'bytes',
      'content-md5': Buffer.from(md5, 'hex').toString('base64'),
      'x-checksum-md5': md5,
      'x-checksum-sha256': sha256,
      'cache-control': expect.stringContaining('immutable'),
      'content-disposition': `attachment; filename="gateway-1.0.bin"; filename*=UTF-8''gateway-1.0.bin`,
    });
    expect(answer.headers['last-modified']).toBeDefined();
  });

  it('writes Content-Length in the exact spelling devices look for', async () => {
    const response = await rawRequest(
      server.port,
      `GET /fw/${firmware.fwId} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n`,
    );
    expect(response.status).toBe(206);
    expect(response.head).toContain('\r\nContent-Length: 10');
    expect(response.head).toContain(`\r\nETag: "${sha256}"`);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const answer = await httpRequest(firmware.url, { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-length']).toBe(String(content.length));
    expect(answer.headers.etag).toBe(`"${sha256}"`);
    expect(answer.body.length).toBe(0);
  });

  it.each([
    ['bytes=0-0', 0, 0],
    ['bytes=100-199', 100, 199],
    ['bytes=3145000-', 3145000, content.length - 1],
    ['bytes=-10', content.length - 10, content.length - 1],
    ['bytes=5-99999999', 5, content.length - 1],
  ])('answers Range %s with 206 and exactly those bytes', async (range, start, end) => {
    const answer = await httpRequest(firmware.url, { headers: { range } });
    expect(answer.status).toBe(206);
    expect(answer.headers['content-range']).toBe(`bytes ${start}-${end}/${content.length}`);
    expect(answer.headers['content-length']).toBe(String(end - start + 1));
    expect(answer.body.equals(content.subarray(start, end + 1))).toBe(true);
  });

  it('answers 416 with the size for a range past the end', async () => {
    const answer = await httpRequest(firmware.url, { headers: { range: `bytes=${content.length}-` } });
    expect(answer.status).toBe(416);
    expect(answer.headers['content-range']).toBe(`bytes */${content.length}`);
  });

  it.each([['bytes=0-1,5-6'], ['items=0-5'], ['bytes=9-2']])('ignores Range %s and sends everything', async (range) => {
    const answer = await httpRequest(firmware.url, { headers: { range } });
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBe(content.length);
  });

  it('answers 304 to If-None-Match with its ETag, and 200 to another', async () => {
    const hit = await httpRequest(firmware.url, { headers: { 'if-none-match': `"other", "${sha256}"` } });
    expect(hit.status).toBe(304);
    expect(hit.body.length).toBe(0);
    expect(hit.headers.etag).toBe(`"${sha256}"`);
    const miss = await httpRequest(firmware.url, { headers: { 'if-none-match': '"other"' } });
    expect(miss.status).toBe(200);
  });

  it('honours Range only when If-Range still matches (resuming a download)', async () => {
    const resumed = await httpRequest(firmware.url, { headers: { range: 'bytes=1000-', 'if-range': `"${sha256}"` } });
    expect(resumed.status).toBe(206);
    expect(resumed.body.equals(content.subarray(1000))).toBe(true);
    const changed = await httpRequest(firmware.url, { headers: { range: 'bytes=1000-', 'if-range': '"stale"' } });
    expect(changed.status).toBe(200);
    expect(changed.body.length).toBe(content.length);
    const byDate = await httpRequest(firmware.url, {
      headers: {
        range: 'bytes=10-19',
        'if-range': String((await httpRequest(firmware.url, { method: 'HEAD' })).headers['last-modified']),
      },
    });
    expect(byDate.status).toBe(206);
  });

  it('answers 404 for an unknown firmware', async () => {
    const answer = await httpRequest(`${server.url}/fw/F00000000000`);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body.toString()).error.code).toBe('not_found');
  });

  it('serves many concurrent downloads correctly', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => httpRequest(firmware.url)));
    for (const answer of answers) {
      expect(createHash('sha256').update(answer.body).digest('hex')).toBe(sha256);
    }
  });
});
