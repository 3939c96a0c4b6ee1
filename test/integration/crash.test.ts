import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { blobFiles, eventually } from '../support/data-dir.js';
import { chunksOf, streamUpload } from '../support/multipart.js';
import { testEnvironment } from '../support/server.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
let server: ChildServer | undefined;
let dataDir = '';

afterAll(async () => {
  await server?.kill('SIGKILL');
  if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
});

describe('a server killed with SIGKILL during uploads', () => {
  it('keeps every upload it answered 201 intact and shows nothing half-written after a restart', async () => {
    // Every blob of the killed process counts as old at the restart: it is the only node.
    const env = await testEnvironment({ FOTA_BLOB_SWEEP_MIN_AGE_S: '0.001' });
    dataDir = env['FOTA_DATA_DIR']!;
    server = await startChildServer(env);
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server!.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    };
    const pid = (await api('POST', '/prototypes', { name: 'crash' })).body.prototypeId;

    // Quick uploads finish; slow ones are still streaming when the process dies.
    const contents = Array.from({ length: 12 }, () => randomBytes(512 * 1024));
    const uploads = contents.map((content, i) =>
      streamUpload(
        server!.url,
        env['FOTA_ADMIN_TOKEN']!,
        pid,
        { name: `fw ${i}`, version: `1.${i}` },
        content.length,
        i < 6 ? chunksOf(content, 64 * 1024) : chunksOf(content, 16 * 1024, 40),
      ),
    );
    const outcomes = uploads.map((upload) =>
      upload.done.then(
        (answer) => answer,
        () => undefined,
      ),
    );
    await Promise.all(outcomes.slice(0, 6));
    await eventually(
      () => blobFiles(dataDir),
      (files) => files.temporary.length > 0,
    );
    await server.kill('SIGKILL');
    const answers = await Promise.all(outcomes);

    const answered = answers
      .map((answer, i) => ({ answer, content: contents[i]! }))
      .filter(({ answer }) => answer?.status === 201);
    expect(answered.length).toBeGreaterThanOrEqual(6);
    expect(answered.length).toBeLessThan(12);

    server = await startChildServer(env);
    const listed = (await api('GET', `/prototypes/${pid}/firmwares`)).body as any[];
    for (const { answer, content } of answered) {
      const firmware = listed.find((f) => f.fwId === answer!.body.fwId);
      expect(firmware, `firmware ${answer!.body.fwId} answered 201 before the kill`).toBeDefined();
      expect(firmware.sha256).toBe(sha256(content));
    }
    // Every firmware listed, answered or not, downloads whole and matches its checksum.
    for (const firmware of listed) {
      const bytes = Buffer.from(await (await fetch(firmware.url)).arrayBuffer());
      expect(bytes.length).toBe(firmware.size);
      expect(sha256(bytes)).toBe(firmware.sha256);
    }
    const files = await blobFiles(dataDir);
    expect(files.temporary).toEqual([]);
    expect(files.blobs.map((path) => path.slice(3)).sort()).toEqual(listed.map((f) => f.sha256).sort());
  });
});
