import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobFiles, eventually } from '../support/data-dir.js';
import { capturingLogger, levels } from '../support/log-lines.js';
import { chunksOf, streamUpload } from '../support/multipart.js';
import { rawRequest } from '../support/raw-http.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

const log = capturingLogger();
let server: TestServer;

beforeAll(async () => {
  server = await startServer({}, log.logger);
});
afterAll(async () => server.stop());

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function newPrototype(versionPolicy = 'any'): Promise<string> {
  return (await server.api<any>('POST', '/prototypes', { name: 'form', versionPolicy })).body.prototypeId;
}

async function firmwareCount(pid: string): Promise<number> {
  return (await server.api<any[]>('GET', `/prototypes/${pid}/firmwares`)).body.length;
}

async function expectNothingKept(pid: string, blobsBefore: string[]): Promise<void> {
  expect(await firmwareCount(pid)).toBe(0);
  const files = await eventually(
    () => blobFiles(server.dataDir),
    (f) => f.temporary.length === 0,
  );
  expect(files.blobs).toEqual(blobsBefore);
}

/** Log lines written since `from` that mention the upload route. */
const uploadLines = (from: number) => log.lines().slice(from);

/** A raw multipart request to the upload route, with the body given as is. */
function rawUpload(pid: string, contentType: string, body: string, contentLength = Buffer.byteLength(body)) {
  return rawRequest(
    server.port,
    `POST /api/v1/prototypes/${pid}/firmwares HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: ${contentType}\r\nContent-Length: ${contentLength}\r\n\r\n${body}`,
  );
}

const part = (boundary: string, name: string, value: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const filePart = (boundary: string, content: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="fw.bin"\r\nContent-Type: application/octet-stream\r\n\r\n${content}`;

describe('malformed multipart bodies are the client’s fault', () => {
  it.each([
    [
      'an unterminated body',
      'multipart/form-data; boundary=b',
      part('b', 'name', 'a') + part('b', 'version', '1') + filePart('b', 'firmware bytes'),
    ],
    ['a missing boundary', 'multipart/form-data', part('b', 'name', 'a') + filePart('b', 'x') + '\r\n--b--\r\n'],
    [
      'a wrong boundary',
      'multipart/form-data; boundary=other',
      part('b', 'name', 'a') + part('b', 'version', '1') + filePart('b', 'x') + '\r\n--b--\r\n',
    ],
    ['a body that is not multipart at all', 'multipart/form-data; boundary=b', 'name=a&version=1'],
  ])('answers 400 to %s, logs it at info, and keeps nothing', async (_case, contentType, body) => {
    const pid = await newPrototype();
    const before = (await blobFiles(server.dataDir)).blobs;
    const from = log.lines().length;
    const answer = await rawUpload(pid, contentType, body);
    expect(answer.status).toBe(400);
    const error = JSON.parse(answer.body).error;
    expect(error.code).toBe('invalid_input');
    expect(error.message).toMatch(/multipart/);
    await expectNothingKept(pid, before);
    const lines = uploadLines(from);
    expect(lines.filter((line) => line.level >= levels.warn)).toEqual([]);
    expect(lines.some((line) => line.level === levels.info && /upload refused/.test(line.msg))).toBe(true);
  });

  it('logs a client that aborts its upload at info, not as an error, and keeps nothing', async () => {
    const pid = await newPrototype();
    const before = (await blobFiles(server.dataDir)).blobs;
    const from = log.lines().length;
    const content = randomBytes(200 * 1024);
    const sendHalf = chunksOf(content.subarray(0, content.length / 2), 16 * 1024, 5);
    let upload: ReturnType<typeof streamUpload> | undefined = undefined;
    upload = streamUpload(server.url, server.token, pid, { name: 'a', version: '1' }, content.length, async (sent) => {
      const chunk = await sendHalf(sent);
      if (chunk === undefined) {
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
    const lines = await eventually(
      async () => uploadLines(from),
      (found) => found.some((line) => /upload (refused|aborted)/.test(line.msg)),
    );
    expect(lines.filter((line) => line.level >= levels.warn)).toEqual([]);
  });
});

describe('the order of the form fields', () => {
  it('accepts the fields before the file', async () => {
    const pid = await newPrototype();
    const response = await uploadFirmware(server, pid, { name: 'a', version: '1', releaseNote: 'n' }, 'bytes');
    expect(response.status).toBe(201);
    expect(response.body.releaseNote).toBe('n');
  });

  it('says that the fields must come before the file when they follow it, and keeps nothing', async () => {
    const pid = await newPrototype();
    const before = (await blobFiles(server.dataDir)).blobs;
    const form = new FormData();
    form.append('file', new Blob(['bytes']), 'fw.bin');
    form.append('name', 'a');
    form.append('version', '1');
    const response = await fetch(`${server.url}/api/v1/prototypes/${pid}/firmwares`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: form,
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as any;
    expect(body.error.message).toBe('name is required, and every field must be sent before the file part');
    await expectNothingKept(pid, before);
  });

  it('refuses an optional field sent after the file, and keeps nothing although the rest was valid', async () => {
    const pid = await newPrototype();
    const before = (await blobFiles(server.dataDir)).blobs;
    const form = new FormData();
    form.append('name', 'a');
    form.append('version', '1');
    form.append('file', new Blob([randomBytes(1000)]), 'fw.bin');
    form.append('releaseNote', 'late');
    const response = await fetch(`${server.url}/api/v1/prototypes/${pid}/firmwares`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: form,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.message).toBe(
      'field "releaseNote" was sent after the file part; every field must be sent before the file part',
    );
    await expectNothingKept(pid, before);
  });
});

describe('a retried upload', () => {
  it.each(['any', 'increasing'])(
    'of the same bytes, version and fields answers the firmware stored first (policy %s)',
    async (policy) => {
      const pid = await newPrototype(policy);
      const content = randomBytes(4096);
      const fields = { name: 'a', version: '1.0.0', releaseNote: 'r' };
      const first = await uploadFirmware(server, pid, fields, content);
      expect(first.status).toBe(201);
      const retry = await uploadFirmware(server, pid, fields, content);
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      expect(await firmwareCount(pid)).toBe(1);
      expect((await blobFiles(server.dataDir)).blobs.filter((path) => path.endsWith(sha256(content)))).toHaveLength(1);
    },
  );

  it.each([
    ['different bytes', { name: 'a', version: '1', releaseNote: 'r' }, randomBytes(10)],
    ['a different name', { name: 'b', version: '1', releaseNote: 'r' }, undefined],
    ['a different release note', { name: 'a', version: '1', releaseNote: 'other' }, undefined],
  ])('with %s and the same version still answers 409', async (_case, fields, bytes) => {
    const pid = await newPrototype();
    const content = randomBytes(4096);
    expect((await uploadFirmware(server, pid, { name: 'a', version: '1', releaseNote: 'r' }, content)).status).toBe(
      201,
    );
    const before = (await blobFiles(server.dataDir)).blobs;
    const retry = await uploadFirmware(server, pid, fields, bytes ?? content);
    expect(retry.status).toBe(409);
    expect(retry.body.error.code).toBe('duplicate');
    expect(await firmwareCount(pid)).toBe(1);
    expect((await blobFiles(server.dataDir)).blobs).toEqual(before);
  });
});
