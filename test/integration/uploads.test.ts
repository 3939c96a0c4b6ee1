import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobFiles, eventually } from '../support/data-dir.js';
import { chunksOf, streamUpload } from '../support/multipart.js';
import { rawRequest } from '../support/raw-http.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

const LIMIT = 256 * 1024;
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ FOTA_MAX_FIRMWARE_BYTES: String(LIMIT) });
});
afterAll(async () => server.stop());

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function newPrototype(): Promise<string> {
  return (await server.api<any>('POST', '/prototypes', { name: 'uploads' })).body.prototypeId;
}

async function firmwareCount(pid: string): Promise<number> {
  return (await server.api<any[]>('GET', `/prototypes/${pid}/firmwares`)).body.length;
}

/** Asserts that a refused upload kept nothing: no row, no blob beyond those before, no temporary file. */
async function expectNothingKept(pid: string, blobsBefore: string[]): Promise<void> {
  expect(await firmwareCount(pid)).toBe(0);
  const files = await eventually(
    () => blobFiles(server.dataDir),
    (f) => f.temporary.length === 0,
  );
  expect(files.blobs).toEqual(blobsBefore);
}

describe('refused uploads keep nothing', () => {
  it.each([
    [
      'a checksum that does not match',
      { name: 'a', version: '1', checksum: md5('other bytes') },
      'checksum_mismatch',
      400,
    ],
    ['a checksum that is not an MD5', { name: 'a', version: '1', checksum: 'xyz' }, 'invalid_input', 400],
    ['a missing name', { version: '1' }, 'invalid_input', 400],
    ['a missing version', { name: 'a' }, 'invalid_input', 400],
    ['a version with a comma', { name: 'a', version: '1,2' }, 'invalid_input', 400],
    ['a version with a space', { name: 'a', version: '1 2' }, 'invalid_input', 400],
    ['a version of 33 characters', { name: 'a', version: '1'.repeat(33) }, 'invalid_input', 400],
    ['prerequisites that are not ids', { name: 'a', version: '1', prerequisites: 'latest' }, 'invalid_input', 400],
    ['an unknown prerequisite', { name: 'a', version: '1', prerequisites: 'F00000000000' }, 'invalid_input', 400],
    ['an unknown field', { name: 'a', version: '1', colour: 'red' }, 'invalid_input', 400],
  ])('refuses %s', async (_case, fields: Record<string, string>, code, status) => {
    const pid = await newPrototype();
    const before = (await blobFiles(server.dataDir)).blobs;
    const response = await uploadFirmware(server, pid, fields, randomBytes(4096));
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    await expectNothingKept(pid, before);
  });

  it('refuses an empty file', async () => {
    const pid = await newPrototype();
    const before = (await blobFiles(server.dataDir)).blobs;
    const response = await uploadFirmware(server, pid, { name: 'a', version: '1' }, Buffer.alloc(0));
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('empty_file');
    await expectNothingKept(pid, before);
  });

  it('refuses a form without the file part', async () => {
    const pid = await newPrototype();
    const form = new FormData();
    form.append('name', 'a');
    form.append('version', '1');
    const response = await fetch(`${server.url}/api/v1/prototypes/${pid}/firmwares`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: form,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.message).toContain('file');
  });

  it('refuses a body that is not multipart', async () => {
    const pid = await newPrototype();
    const { status } = await server.api('POST', `/prototypes/${pid}/firmwares`, { name: 'a', version: '1' });
    expect(status).toBe(400);
  });

  it('refuses a file over FOTA_MAX_FIRMWARE_BYTES with 413', async () => {
    const pid = await newPrototype();
    const before = (await blobFiles(server.dataDir)).blobs;
    const response = await uploadFirmware(server, pid, { name: 'a', version: '1' }, randomBytes(LIMIT + 1));
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('too_large');
    await expectNothingKept(pid, before);
    const exact = randomBytes(LIMIT);
    const accepted = await uploadFirmware(server, pid, { name: 'a', version: '1' }, exact);
    expect(accepted.status).toBe(201);
    expect(accepted.body.sha256).toBe(sha256(exact));
  });

  it('refuses a duplicate version after streaming, and keeps the first firmware whole', async () => {
    const pid = await newPrototype();
    const first = randomBytes(8192);
    expect((await uploadFirmware(server, pid, { name: 'a', version: '1' }, first)).status).toBe(201);
    const before = (await blobFiles(server.dataDir)).blobs;
    const response = await uploadFirmware(server, pid, { name: 'b', version: '1' }, randomBytes(LIMIT));
    expect(response.status).toBe(409);
    expect((await blobFiles(server.dataDir)).blobs).toEqual(before);
    const list = (await server.api<any[]>('GET', `/prototypes/${pid}/firmwares`)).body;
    expect(list.map((f) => f.sha256)).toEqual([sha256(first)]);
  });

  it('refuses a prototype that does not exist with 404', async () => {
    const response = await uploadFirmware(server, 'P00000000000', { name: 'a', version: '1' }, 'x');
    expect(response.status).toBe(404);
  });
});

describe('file names', () => {
  it.each([
    ['../../x', 'x'],
    ['..\\..\\windows\\fw.bin', 'fw.bin'],
    ['/etc/passwd', 'passwd'],
    ['..', 'firmware.bin'],
    ['lämp v2.bin', 'lämp v2.bin'],
  ])('keeps %j as %j and stores the bytes only under their hash', async (given, kept) => {
    const pid = await newPrototype();
    const content = randomBytes(100);
    const response = await uploadFirmware(server, pid, { name: 'n', version: '1' }, content, given);
    expect(response.status).toBe(201);
    expect(response.body.fileName).toBe(kept);
    const { blobs } = await blobFiles(server.dataDir);
    expect(blobs).toContain(`${sha256(content).slice(0, 2)}/${sha256(content)}`);
    expect(blobs.every((path) => /^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(path))).toBe(true);
    const download = await fetch(response.body.url);
    expect(download.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent(kept)}`);
  });
});

describe('interrupted and concurrent uploads', () => {
  it('keeps nothing when the client disconnects halfway through the file', async () => {
    const pid = await newPrototype();
    const before = (await blobFiles(server.dataDir)).blobs;
    const content = randomBytes(200 * 1024);
    let upload: ReturnType<typeof streamUpload> | undefined = undefined;
    const sendHalf = chunksOf(content.subarray(0, content.length / 2), 16 * 1024, 5);
    upload = streamUpload(server.url, server.token, pid, { name: 'a', version: '1' }, content.length, async (sent) => {
      const chunk = await sendHalf(sent);
      if (chunk === undefined) {
        // Half the file went out and the server is waiting for the rest: hang up.
        await eventually(
          () => blobFiles(server.dataDir),
          (f) => f.temporary.length === 1,
        );
        upload!.abort();
      }
      return chunk;
    });
    await expect(upload.done).rejects.toThrow();
    await expectNothingKept(pid, before);
  });

  it('keeps nothing when the connection closes right after the headers', async () => {
    const pid = await newPrototype();
    const before = (await blobFiles(server.dataDir)).blobs;
    await rawRequest(
      server.port,
      `POST /api/v1/prototypes/${pid}/firmwares HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n`,
      { closeAfterWrite: true },
    ).catch(() => undefined);
    await expectNothingKept(pid, before);
  });

  it('stores the same bytes once when two uploads of them run at the same time', async () => {
    const pid = await newPrototype();
    const content = randomBytes(128 * 1024);
    const [a, b] = await Promise.all([
      streamUpload(
        server.url,
        server.token,
        pid,
        { name: 'a', version: '1' },
        content.length,
        chunksOf(content, 8192, 1),
      ).done,
      streamUpload(
        server.url,
        server.token,
        pid,
        { name: 'b', version: '2' },
        content.length,
        chunksOf(content, 8192, 1),
      ).done,
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const { blobs } = await blobFiles(server.dataDir);
    expect(blobs.filter((path) => path.endsWith(sha256(content)))).toHaveLength(1);
    // Deleting one keeps the bytes for the other; deleting both removes them.
    expect((await server.api('DELETE', `/firmwares/${a.body.fwId}`)).status).toBe(204);
    expect(Buffer.from(await (await fetch(b.body.url)).arrayBuffer()).equals(content)).toBe(true);
    expect((await server.api('DELETE', `/firmwares/${b.body.fwId}`)).status).toBe(204);
    expect((await blobFiles(server.dataDir)).blobs.filter((path) => path.endsWith(sha256(content)))).toHaveLength(0);
  });

  it('accepts only one of two concurrent uploads of the same version and keeps only its bytes', async () => {
    const pid = await newPrototype();
    const contents = [randomBytes(64 * 1024), randomBytes(64 * 1024)];
    const results = await Promise.all(
      contents.map(
        (content, i) =>
          streamUpload(
            server.url,
            server.token,
            pid,
            { name: `n${i}`, version: '7' },
            content.length,
            chunksOf(content, 4096, 1),
          ).done,
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const winner = results.findIndex((r) => r.status === 201);
    const list = (await server.api<any[]>('GET', `/prototypes/${pid}/firmwares`)).body;
    expect(list.map((f) => f.fwId)).toEqual([results[winner]!.body.fwId]);
    const { blobs } = await blobFiles(server.dataDir);
    expect(blobs.some((path) => path.endsWith(sha256(contents[winner]!)))).toBe(true);
    expect(blobs.some((path) => path.endsWith(sha256(contents[1 - winner]!)))).toBe(false);
  });
});
