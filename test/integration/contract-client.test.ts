import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, HttpClient, readEvents, type FileSource, type StreamEvent } from '../../src/contract/http-client.js';
import { startServer, type TestServer } from '../support/server.js';

/**
 * The one API client of the console, the CLI and the simulator (src/contract/http-client.ts)
 * against the real server: a streamed upload, a refused token, the event stream.
 */

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.stop();
});

function client(token = server.token): HttpClient {
  const api = new HttpClient(server.url);
  api.credentials = { kind: 'bearer', token };
  return api;
}

/** Bytes made up as they are sent, with their digests computed on the way. */
function generatedFile(size: number): FileSource & { digests(): { md5: string; sha256: string } } {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let sent = 0;
  return {
    size,
    digests: () => ({ md5: md5.copy().digest('hex'), sha256: sha256.copy().digest('hex') }),
    stream: () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= size) return controller.close();
          const chunk = new Uint8Array(Math.min(100_003, size - sent)).map((_, index) => (sent + index) % 253);
          sent += chunk.byteLength;
          md5.update(chunk);
          sha256.update(chunk);
          controller.enqueue(chunk);
        },
      }),
  };
}

describe('the contract client against the server', () => {
  it('uploads a firmware streamed from a stream of known size, and the server stores exactly its bytes', async () => {
    const api = client();
    const { prototypeId } = await api.createPrototype({ name: 'Streamed' });
    const file = generatedFile(6 * 1024 * 1024 + 5);
    let lastProgress = 0;
    const firmware = await api.uploadFirmware(
      prototypeId,
      { name: 'Lamp', version: '1.0', releaseNote: 'first', file, fileName: 'lamp.bin' },
      undefined,
      (sent) => (lastProgress = sent),
    );
    expect(lastProgress).toBe(file.size);
    expect(firmware).toMatchObject({ prototypeId, version: '1.0', size: file.size, ...file.digests() });
    expect(await api.firmware(firmware.fwId)).toEqual(firmware);
    const download = await fetch(firmware.url);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(createHash('md5').update(bytes).digest('hex')).toBe(firmware.md5);
  });

  it('answers a refused token during an upload with the API error, and stores nothing', async () => {
    const { prototypeId } = await client().createPrototype({ name: 'Refused' });
    const failure = await client('not-the-token')
      .uploadFirmware(prototypeId, { name: 'A', version: '1', file: generatedFile(8 * 1024 * 1024), fileName: 'a.bin' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(await client().firmwares(prototypeId)).toEqual([]);
  });

  it('reads the event stream: the firmware report of a device shows as an event, its data as sent', async () => {
    const api = client();
    const { prototypeId } = await api.createPrototype({ name: 'Events' });
    const device = await api.createDevice(prototypeId, { name: 'watched' });
    const abort = new AbortController();
    const events: StreamEvent[] = [];
    const response = await api.openEvents(abort.signal);
    const reading = readEvents(response, (event) => events.push(event)).catch(() => undefined);
    // A firmware report over the device API makes the server announce device.reported.
    const { version } = await api.uploadFirmware(prototypeId, {
      name: 'Lamp',
      version: '1.0',
      file: new Blob(['firmware']),
      fileName: 'fw.bin',
    });
    const report = await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
      method: 'PUT',
      headers: { deviceKey: device.deviceKey!, 'content-type': 'application/json' },
      body: JSON.stringify({ version }),
    });
    expect(report.status).toBe(200);
    await expect
      .poll(() => events.find((event) => event.type === 'device.reported'), { timeout: 30_000 })
      .toBeDefined();
    const reported = events.find((event) => event.type === 'device.reported')!;
    expect(reported.data).toMatchObject({ deviceId: device.deviceId });
    expect(JSON.parse(reported.text)).toEqual(reported.data);
    abort.abort();
    await reading;
  });
});
