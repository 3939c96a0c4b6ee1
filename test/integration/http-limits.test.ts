import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blobFiles, eventually } from '../support/data-dir.js';
import { capturingLogger, levels } from '../support/log-lines.js';
import { chunksOf, streamUpload } from '../support/multipart.js';
import { startServer, type TestServer } from '../support/server.js';
import { SlowClient } from '../support/slow-http.js';

/**
 * Short limits, so that a client past them is visibly cut off within the generous waits of a test
 * (20 s), while the defaults (10 s, 30 s, 120 s) or node's own (300 s) would not have cut it yet.
 */
const limits = {
  FOTA_HTTP_HEADERS_TIMEOUT_S: '1',
  FOTA_HTTP_REQUEST_TIMEOUT_S: '1',
  FOTA_HTTP_DEVICE_REQUEST_TIMEOUT_S: '1',
  FOTA_HTTP_IDLE_TIMEOUT_S: '3',
  FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S: '0.5',
  FOTA_MAX_HTTP_CONNECTIONS: '40',
};
const CUT_OFF_WITHIN_MS = 20_000;

let server: TestServer;
let device: { deviceId: string; deviceKey: string };
const clients: SlowClient[] = [];

beforeAll(async () => {
  server = await startServer(limits);
  const pid = (await server.api<any>('POST', '/prototypes', { name: 'limits' })).body.prototypeId;
  device = (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'd' })).body;
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(async () => server.stop());

async function slowClient(): Promise<SlowClient> {
  const client = await SlowClient.connect(server.port);
  clients.push(client);
  return client;
}

const closed = (client: SlowClient) =>
  eventually(
    async () => client.isClosed(),
    (isClosed) => isClosed,
    CUT_OFF_WITHIN_MS,
  );

describe('a body that will not be read', () => {
  it('closes the connection after a 401 instead of reading a slowly sent body', async () => {
    const client = await slowClient();
    client.send(
      'POST /api/v1/prototypes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-token-of-some-length\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    client.dripForever(' ', 200);
    await closed(client);
    expect(client.status()).toBe(401);
    expect(client.text()).toMatch(/\r\nConnection: close\r\n/);
  });

  it('still delivers the 401 to a client that is sending a large body as fast as it can', async () => {
    // Closing at once would reset the connection under the client before it reads its answer.
    for (let attempt = 0; attempt < 10; attempt++) {
      const client = await slowClient();
      client.send(
        'POST /api/v1/prototypes/P00000000000/firmwares HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-the-admin-token\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n',
      );
      const chunk = randomBytes(1024 * 1024).toString('latin1');
      const flood = setInterval(() => client.send(chunk), 5);
      try {
        await closed(client);
      } finally {
        clearInterval(flood);
      }
      expect(client.status()).toBe(401);
    }
  });

  it('closes the connection after a device 401 too', async () => {
    const client = await slowClient();
    client.send(
      `POST /mcs/v2/devices/${device.deviceId}/datapoints HTTP/1.1\r\nHost: x\r\ndeviceKey: wrongwrongwrongw\r\nContent-Length: 100000\r\n\r\n{`,
    );
    client.dripForever(' ', 200);
    await closed(client);
    expect(client.status()).toBe(401);
  });
});

describe('deadlines for a body', () => {
  it('answers 408 and closes 20 device calls with a valid key whose 200-byte body trickles in', async () => {
    const trickling = await Promise.all(Array.from({ length: 20 }, () => slowClient()));
    for (const [i, client] of trickling.entries()) {
      // Half of them with the doubled slash of MediaTek's examples.
      client.send(
        `PUT ${i % 2 === 0 ? '/' : '//'}mcs/v2/devices/${device.deviceId}/firmwares HTTP/1.1\r\nHost: x\r\ndeviceKey: ${device.deviceKey}\r\nContent-Length: 200\r\n\r\n{`,
      );
      client.dripForever(' ', 300);
    }
    for (const client of trickling) {
      await closed(client);
      expect(client.status()).toBe(408);
      expect(client.text()).toContain('"code":408');
    }
  });

  it('gives a device call the device deadline, shorter than the management one', async () => {
    const patient = await startServer({ ...limits, FOTA_HTTP_REQUEST_TIMEOUT_S: '3600' });
    const client = await SlowClient.connect(patient.port);
    clients.push(client);
    try {
      const pid = (await patient.api<any>('POST', '/prototypes', { name: 'p' })).body.prototypeId;
      const own = (await patient.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'd' })).body;
      client.send(
        `PUT //mcs/v2/devices/${own.deviceId}/firmwares HTTP/1.1\r\nHost: x\r\ndeviceKey: ${own.deviceKey}\r\nContent-Length: 200\r\n\r\n{`,
      );
      client.dripForever(' ', 300);
      await closed(client);
      expect(client.status()).toBe(408);
    } finally {
      await patient.stop();
    }
  });

  it('answers 408 to a management call whose JSON body trickles in', async () => {
    const client = await slowClient();
    client.send(
      `POST /api/v1/prototypes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
    );
    client.dripForever(' ', 300);
    await closed(client);
    expect(client.status()).toBe(408);
    expect(client.text()).toContain('"code":"timeout"');
  });

  it('lets an upload take longer than the request deadline while it keeps sending', async () => {
    const pid = (await server.api<any>('POST', '/prototypes', { name: 'slow upload' })).body.prototypeId;
    const content = randomBytes(16 * 1024);
    // About 3 s in all, three times the request deadline, a chunk every 200 ms.
    const upload = streamUpload(
      server.url,
      server.token,
      pid,
      { name: 'slow', version: '1' },
      content.length,
      chunksOf(content, 1024, 200),
    );
    expect((await upload.done).status).toBe(201);
  });

  it('drops an upload that stops sending for the idle timeout, and keeps nothing', async () => {
    const pid = (await server.api<any>('POST', '/prototypes', { name: 'stalled upload' })).body.prototypeId;
    const before = (await blobFiles(server.dataDir)).blobs;
    const content = randomBytes(16 * 1024);
    const firstHalf = chunksOf(content.subarray(0, 8192), 4096);
    const upload = streamUpload(
      server.url,
      server.token,
      pid,
      { name: 'stalled', version: '1' },
      content.length,
      (sent) => (sent < 8192 ? firstHalf(sent) : new Promise<undefined>(() => undefined)),
    );
    await expect(upload.done).rejects.toThrow();
    expect((await server.api<any[]>('GET', `/prototypes/${pid}/firmwares`)).body).toEqual([]);
    const files = await eventually(
      () => blobFiles(server.dataDir),
      (f) => f.temporary.length === 0,
    );
    expect(files.blobs).toEqual(before);
  });
});

describe('deadlines for headers and between requests', () => {
  it('closes a connection whose headers trickle in', async () => {
    const client = await slowClient();
    client.send('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    client.dripForever('X-Slow: y\r\n', 300);
    await closed(client);
    expect(client.status()).toBe(408);
  });

  it('closes a kept-alive connection that sends no next request', async () => {
    const client = await slowClient();
    client.send('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(
      async () => client.status(),
      (status) => status === 200,
    );
    expect(client.text()).not.toMatch(/Connection: close/i);
    // Node's default keep-alive is 5 s; FOTA_HTTP_KEEP_ALIVE_TIMEOUT_S is 0.5 s here.
    await eventually(
      async () => client.isClosed(),
      (isClosed) => isClosed,
      4000,
    );
  });
});

describe('FOTA_MAX_HTTP_CONNECTIONS', () => {
  it('closes HTTP sockets past the limit at once, and takes new ones when a place frees', async () => {
    // Headers may take long here, so the held sockets stay open until the test closes them.
    const log = capturingLogger();
    const capped = await startServer(
      { ...limits, FOTA_HTTP_HEADERS_TIMEOUT_S: '60', FOTA_MAX_HTTP_CONNECTIONS: '3' },
      log.logger,
    );
    const held: SlowClient[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await SlowClient.connect(capped.port));
      const extra = await SlowClient.connect(capped.port);
      held.push(extra);
      await eventually(
        async () => extra.isClosed(),
        (isClosed) => isClosed,
      );
      expect(extra.text()).toBe('');
      // The operator hears of it, once, however many sockets are refused.
      const second = await SlowClient.connect(capped.port);
      held.push(second);
      await eventually(
        async () => second.isClosed(),
        (isClosed) => isClosed,
      );
      const warnings = log.lines().filter((line) => line.level === levels.warn);
      expect(warnings.map((line) => line.msg)).toEqual([
        'HTTP connection limit reached: new connections are closed at once (FOTA_MAX_HTTP_CONNECTIONS)',
      ]);
      held[0]!.close();
      const answer = await eventually(
        () =>
          fetch(`${capped.url}/healthz`).then(
            (response) => response.status,
            () => 0,
          ),
        (status) => status === 200,
      );
      expect(answer).toBe(200);
    } finally {
      for (const client of held) client.close();
      await capped.stop();
    }
  });
});
