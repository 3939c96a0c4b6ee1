import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/data-dir.js';
import type { DeviceCredentials } from '../support/devices.js';
import { capturingLogger, type LogLine } from '../support/log-lines.js';
import { connectPacket } from '../support/mqtt-bytes.js';
import { freePort, startServer, type TestServer } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

/**
 * A real server with FOTA_TRUSTED_PROXIES=127.0.0.1: this test is the balancer when it connects
 * from 127.0.0.1 and writes PROXY headers, and a device connecting directly when it connects from
 * 127.0.0.2. Three failures at once per address, then one a minute.
 */
const THROTTLE = { FOTA_AUTH_FAILURE_BURST: '3', FOTA_AUTH_FAILURES_PER_MINUTE: '1' };
const WRONG_KEY = 'WrongWrongWrong0';
const UNTRUSTED = '127.0.0.2';

const v1 = (source: string, port = 40000) => `PROXY TCP4 ${source} 127.0.0.1 ${port} 4443\r\n`;

/** A v2 PROXY (or LOCAL) header over IPv4, with a NOOP TLV. */
function v2(source: string, port = 40000, command: 'proxy' | 'local' = 'proxy'): Buffer {
  const header = Buffer.alloc(16 + 12 + 4);
  Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(header);
  header[12] = command === 'proxy' ? 0x21 : 0x20;
  header[13] = 0x11;
  header.writeUInt16BE(16, 14);
  Buffer.from(source.split('.').map(Number)).copy(header, 16);
  Buffer.from([127, 0, 0, 1]).copy(header, 20);
  header.writeUInt16BE(port, 24);
  header.writeUInt16BE(4443, 26);
  header[28] = 0x04; // PP2_TYPE_NOOP, one byte
  header.writeUInt16BE(1, 29);
  return header;
}

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

async function newDevice(server: TestServer, name: string): Promise<DeviceCredentials> {
  const pid = (await server.api<any>('POST', '/prototypes', { name })).body.prototypeId;
  return (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name })).body;
}

/** Waits until the socket is echoed to or closed; says which, and what came. */
async function outcome(socket: TcpDevice, ms = 10_000) {
  await eventually(
    async () => socket.isClosed() || socket.text().length > 0,
    (done) => done,
    ms,
  );
  return { echoed: socket.text().length > 0, closed: socket.isClosed() };
}

/** One TCP device connection: `prefix` (a header or nothing) and the heartbeat in one write. */
async function heartbeat(server: TestServer, device: DeviceCredentials, key: string, prefix: string | Buffer = '') {
  const socket = await TcpDevice.connect(server.app.tcp()!.port());
  socket.send(Buffer.concat([Buffer.from(prefix), Buffer.from(`${device.deviceId},${key},0`)]));
  const result = await outcome(socket);
  socket.close();
  return result;
}

const reasons = (lines: LogLine[]) => lines.filter((line) => line.msg.startsWith('PROXY header')).map(String);

describe('device listeners behind a trusted balancer (FOTA_PROXY_PROTOCOL=tcp,mqtt)', () => {
  let server: TestServer;
  let logs: () => LogLine[];

  beforeAll(async () => {
    const captured = capturingLogger();
    logs = captured.lines;
    server = await startServer(
      {
        ...THROTTLE,
        FOTA_TRUSTED_PROXIES: '127.0.0.1, ::1',
        FOTA_PROXY_PROTOCOL: 'tcp,mqtt',
        FOTA_PROXY_HEADER_TIMEOUT_S: '1',
      },
      captured.logger,
    );
    servers.push(server);
  });

  it('takes a v1 header and the heartbeat in the same chunk: the device is echoed', async () => {
    const device = await newDevice(server, 'v1');
    expect(await heartbeat(server, device, device.deviceKey, v1('198.51.100.1'))).toEqual({
      echoed: true,
      closed: false,
    });
  });

  it('takes a v2 header split over several writes, then the heartbeat', async () => {
    const device = await newDevice(server, 'v2 split');
    const socket = await TcpDevice.connect(server.app.tcp()!.port());
    const header = v2('198.51.100.2');
    for (const part of [header.subarray(0, 5), header.subarray(5, 14), header.subarray(14, 30)]) {
      socket.send(part);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    socket.send(Buffer.concat([header.subarray(30), Buffer.from(`${device.deviceId},${device.deviceKey},0`)]));
    expect(await outcome(socket)).toEqual({ echoed: true, closed: false });
    socket.close();
  });

  it('throttles the address the header names, not the balancer: another device through it still connects', async () => {
    const bad = await newDevice(server, 'guessed');
    const good = await newDevice(server, 'good');
    for (let i = 0; i < 3; i++) {
      expect(await heartbeat(server, bad, WRONG_KEY, v1('198.51.100.66'))).toEqual({ echoed: false, closed: true });
    }
    // 198.51.100.66 is over its limit: even the right key is refused from it.
    expect(await heartbeat(server, bad, bad.deviceKey, v2('198.51.100.66'))).toEqual({ echoed: false, closed: true });
    // The balancer (127.0.0.1) and every other device behind it are not.
    expect(await heartbeat(server, good, good.deviceKey, v2('198.51.100.67'))).toMatchObject({ echoed: true });
    expect(await heartbeat(server, good, good.deviceKey, v2('0.0.0.0', 0, 'local'))).toMatchObject({ echoed: true });
    // The log names the device's address.
    const refusal = logs().find((line) => line.msg === 'tcp device refused' && line['deviceId'] === bad.deviceId);
    expect(refusal?.['remote']).toBe('198.51.100.66:40000');
  });

  it('keeps the balancer’s address for a v2 LOCAL header (a health check) and v1 UNKNOWN', async () => {
    const device = await newDevice(server, 'local');
    expect(await heartbeat(server, device, device.deviceKey, v2('0.0.0.0', 0, 'local'))).toMatchObject({
      echoed: true,
    });
    expect(await heartbeat(server, device, device.deviceKey, 'PROXY UNKNOWN\r\n')).toMatchObject({ echoed: true });
  });

  it.each([
    ['no header', '', 'no PROXY protocol signature'],
    ['a malformed v1 header', 'PROXY TCP4 198.51.100.1 127.0.0.1 70000 4443\r\n', 'a v1 port outside 0..65535'],
    ['a v1 line over 107 bytes', `PROXY TCP4 ${'9'.repeat(120)}\r\n`, 'a v1 line longer than 107 bytes'],
    [
      'a v2 header of another version',
      Buffer.concat([v2('1.2.3.4').subarray(0, 12), Buffer.from([0x11])]),
      'a v2 signature with version 1',
    ],
  ])(
    'closes a connection from the balancer with %s, logged, counted as no failed authentication',
    async (_, prefix, reason) => {
      const device = await newDevice(server, `refused ${reason}`);
      // More refusals than the burst: none counts against the balancer's address.
      for (let i = 0; i < 4; i++) {
        expect(await heartbeat(server, device, device.deviceKey, prefix)).toEqual({ echoed: false, closed: true });
      }
      expect(reasons(logs()).length).toBeGreaterThan(0);
      expect(logs().some((line) => line['reason'] === reason && line['listener'] === 'tcp')).toBe(true);
      expect(await heartbeat(server, device, device.deviceKey, v2('0.0.0.0', 0, 'local'))).toMatchObject({
        echoed: true,
      });
    },
  );

  it('closes a balancer’s connection whose header does not arrive within FOTA_PROXY_HEADER_TIMEOUT_S', async () => {
    const socket = await TcpDevice.connect(server.app.tcp()!.port());
    socket.send('PROXY TCP4 198.51.100.1 ');
    const sent = Date.now();
    await eventually(
      async () => socket.isClosed(),
      (closed) => closed,
    );
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
    expect(logs().some((line) => line['reason'] === 'no complete PROXY header within 1000 ms')).toBe(true);
  });

  it('serves a device connecting directly from an untrusted address as today, and refuses its PROXY header', async () => {
    const device = await newDevice(server, 'direct');
    const plain = await TcpDevice.connect(server.app.tcp()!.port(), UNTRUSTED);
    plain.send(`${device.deviceId},${device.deviceKey},0`);
    expect(await outcome(plain)).toEqual({ echoed: true, closed: false });
    plain.close();
    // First bytes that may still become a v2 signature (CR LF CR LF, separators to the heartbeat
    // parser) are held only until they differ, then delivered in order.
    const held = await TcpDevice.connect(server.app.tcp()!.port(), UNTRUSTED);
    held.send('\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(held.isClosed()).toBe(false);
    held.send(`${device.deviceId},${device.deviceKey},0`);
    expect(await outcome(held)).toEqual({ echoed: true, closed: false });
    held.close();
    for (const header of [v1('198.51.100.5'), v2('198.51.100.5')]) {
      const spoofing = await TcpDevice.connect(server.app.tcp()!.port(), UNTRUSTED);
      spoofing.send(Buffer.concat([Buffer.from(header), Buffer.from(`${device.deviceId},${device.deviceKey},0`)]));
      expect(await outcome(spoofing)).toEqual({ echoed: false, closed: true });
    }
    expect(
      logs().some(
        (line) =>
          line.msg === 'PROXY header from an address not in FOTA_TRUSTED_PROXIES, connection closed' &&
          String(line['remote']).startsWith(`${UNTRUSTED}:`),
      ),
    ).toBe(true);
  });

  it('gives MQTT the header’s address: CONNECT in the header’s chunk, the throttle per device address', async () => {
    const bad = await newDevice(server, 'mqtt guessed');
    const good = await newDevice(server, 'mqtt good');
    const port = server.app.mqtt()!.port();
    /** An mqtt.js client over a socket that first wrote `header`. */
    const client = (header: Buffer) => {
      const socket: Socket = connect(port, '127.0.0.1');
      socket.write(header);
      const mqtt = new MqttClient(() => socket, { reconnectPeriod: 0, keepalive: 0, protocolVersion: 4 });
      mqtt.on('error', () => undefined);
      return mqtt;
    };
    const connected = (mqtt: MqttClient) =>
      new Promise<boolean>((resolve) => {
        mqtt.once('connect', () => resolve(true));
        mqtt.once('close', () => resolve(false));
      });
    for (let i = 0; i < 3; i++) {
      const guessing = client(v2('198.51.100.77'));
      expect(await connected(guessing)).toBe(true);
      const granted = await guessing.subscribeAsync(`mcs/${bad.deviceId}/${WRONG_KEY}/+`).catch(() => []);
      expect(granted.every((grant) => grant.qos === 128)).toBe(true);
      await eventually(
        async () => guessing.connected,
        (still) => !still,
      );
      guessing.end(true);
    }
    const refused = client(v2('198.51.100.77'));
    expect(await connected(refused)).toBe(false);
    refused.end(true);

    const device = client(Buffer.from(v1('198.51.100.78')));
    expect(await connected(device)).toBe(true);
    const granted = await device.subscribeAsync(`mcs/${good.deviceId}/${good.deviceKey}/+`, { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    await device.endAsync(true);
  });

  it('refuses an MQTT connection from the balancer without a header, and one from elsewhere with one', async () => {
    const port = server.app.mqtt()!.port();
    for (const [localAddress, bytes] of [
      ['127.0.0.1', connectPacket('no-header')],
      [UNTRUSTED, Buffer.concat([v2('198.51.100.9'), connectPacket('spoofing')])],
    ] as const) {
      const socket = await TcpDevice.connect(port, localAddress);
      socket.send(bytes);
      expect(await outcome(socket)).toEqual({ echoed: false, closed: true });
    }
    const direct = await TcpDevice.connect(port, UNTRUSTED);
    direct.send(connectPacket('direct'));
    // CONNACK, accepted: 0x20 0x02 0x00 0x00.
    await direct.waitFor('\x20\x02\x00\x00');
    direct.close();
  });
});

/** An HTTP/1.1 request over a raw socket: `prefix` first, then the request; the whole answer. */
function rawRequest(port: number, prefix: string | Buffer, request: string, localAddress = '127.0.0.1') {
  return new Promise<string>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => undefined);
    socket.write(Buffer.concat([Buffer.from(prefix), Buffer.from(request)]));
  });
}

const createPrototype = (token: string, name: string) => {
  const body = JSON.stringify({ name });
  return [
    'POST /api/v1/prototypes HTTP/1.1',
    'Host: fota.example.com',
    `Authorization: Bearer ${token}`,
    'Content-Type: application/json',
    `Content-Length: ${body.length}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
};

async function auditAddress(server: TestServer, name: string): Promise<string | undefined> {
  const page = await server.api<any>('GET', '/audit?limit=50');
  const entry = (page.body.entries as any[]).find((candidate) => JSON.stringify(candidate).includes(name));
  return entry?.address;
}

describe('HTTP behind a trusted balancer', () => {
  it('takes X-Forwarded-For from the balancer only, for the audit log and the throttle', async () => {
    const server = await startServer({ ...THROTTLE, FOTA_TRUSTED_PROXIES: '127.0.0.0/30' });
    servers.push(server);
    /** A request through node:http from `localAddress`, with an X-Forwarded-For chain. */
    const call = (localAddress: string, forwarded: string, token: string, name: string) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ name });
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port: server.port,
            localAddress,
            method: 'POST',
            path: '/api/v1/prototypes',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'x-forwarded-for': forwarded,
            },
          },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode!));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    // A client's own X-Forwarded-For entry is not believed: the last address the balancer added is.
    expect(await call('127.0.0.1', '10.9.9.9, 203.0.113.50', server.token, 'forwarded')).toBe(201);
    expect(await auditAddress(server, 'forwarded')).toBe('203.0.113.50');
    // Through two trusted hops (127.0.0.2 and 127.0.0.1 are both in 127.0.0.0/30).
    expect(await call('127.0.0.1', '203.0.113.51, 127.0.0.2', server.token, 'two hops')).toBe(201);
    expect(await auditAddress(server, 'two hops')).toBe('203.0.113.51');
    // From outside the list the header is ignored: the socket's address counts.
    expect(await call('127.0.0.5', '203.0.113.52', server.token, 'not trusted')).toBe(201);
    expect(await auditAddress(server, 'not trusted')).toBe('127.0.0.5');

    // Failed tokens from 203.0.113.60 throttle it, not the balancer nor 203.0.113.61.
    for (let i = 0; i < 3; i++) expect(await call('127.0.0.1', '203.0.113.60', 'wrong-token-xxxxxxxx', 'x')).toBe(401);
    expect(await call('127.0.0.1', '203.0.113.60', server.token, 'throttled')).toBe(429);
    expect(await call('127.0.0.1', '203.0.113.61', server.token, 'other client')).toBe(201);
    expect((await server.api('GET', '/prototypes')).status).toBe(200);
  });

  it('takes a PROXY header on HTTP with FOTA_PROXY_PROTOCOL=http, and refuses a request without one', async () => {
    // The balancer is 127.0.0.3 here: the test's own API calls from 127.0.0.1 are direct.
    const balancer = '127.0.0.3';
    const server = await startServer({ FOTA_TRUSTED_PROXIES: balancer, FOTA_PROXY_PROTOCOL: 'http' });
    servers.push(server);
    const { port, token } = server;
    expect(await rawRequest(port, v2('198.51.100.40'), createPrototype(token, 'proxied v2'), balancer)).toMatch(
      /^HTTP\/1\.1 201/,
    );
    expect(await rawRequest(port, v1('198.51.100.42'), createPrototype(token, 'proxied v1'), balancer)).toMatch(
      /^HTTP\/1\.1 201/,
    );
    // Direct, from another address: no header needed.
    expect(await rawRequest(port, '', createPrototype(token, 'direct'), UNTRUSTED)).toMatch(/^HTTP\/1\.1 201/);
    // From the balancer without a header: closed, no answer.
    expect(await rawRequest(port, '', createPrototype(token, 'no header'), balancer)).toBe('');
    // A PROXY line from an address outside the list names nobody: node:http refuses it (400).
    expect(await rawRequest(port, v1('198.51.100.41'), createPrototype(token, 'spoof'), UNTRUSTED)).toMatch(
      /^HTTP\/1\.1 400/,
    );
    expect(await auditAddress(server, 'proxied v2')).toBe('198.51.100.40');
    expect(await auditAddress(server, 'proxied v1')).toBe('198.51.100.42');
    expect(await auditAddress(server, 'direct')).toBe(UNTRUSTED);
    expect(await auditAddress(server, 'no header')).toBeUndefined();
    expect(await auditAddress(server, 'spoof')).toBeUndefined();
  });
});

describe('LinkIt 7681 behind a trusted balancer (FOTA_PROXY_PROTOCOL=linkit7681)', () => {
  let server: TestServer;
  let discoveryPort: number;
  let commandPort: number;

  beforeAll(async () => {
    discoveryPort = await freePort();
    commandPort = await freePort();
    server = await startServer({
      ...THROTTLE,
      FOTA_TRUSTED_PROXIES: '127.0.0.1',
      FOTA_PROXY_PROTOCOL: 'linkit7681',
      FOTA_LINKIT7681_ENABLED: 'true',
      FOTA_LINKIT7681_PORT: String(commandPort),
      FOTA_LINKIT7681_PUBLIC_PORT: '768',
      FOTA_LINKIT7681_PUBLIC_HOST: '127.0.0.1',
      FOTA_LINKIT7681_DISCOVERY_PORT: String(discoveryPort),
    });
    servers.push(server);
  });

  const discover = (prefix: string | Buffer, localAddress = '127.0.0.1') =>
    rawRequest(
      discoveryPort,
      prefix,
      `GET /devcloud/device/Dunknown/connect/${'ab'.repeat(32)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      localAddress,
    );

  it('throttles discovery by the address the header names', async () => {
    for (let i = 0; i < 3; i++) expect(await discover(v1('198.51.100.90'))).toMatch(/^HTTP\/1\.1 403/);
    expect(await discover(v2('198.51.100.90'))).toMatch(/^HTTP\/1\.1 429/);
    // Another board behind the same balancer, and one connecting directly, are not throttled.
    expect(await discover(v2('198.51.100.91'))).toMatch(/^HTTP\/1\.1 403/);
    expect(await discover('', UNTRUSTED)).toMatch(/^HTTP\/1\.1 403/);
    // From the balancer without a header: closed without an answer.
    expect(await discover('')).toBe('');
  });

  it('closes a command connection from the balancer without a header, and keeps one with a LOCAL header', async () => {
    const bare = await TcpDevice.connect(commandPort);
    bare.send(Buffer.alloc(32, 0x41));
    expect(await outcome(bare)).toEqual({ echoed: false, closed: true });
    const checked = await TcpDevice.connect(commandPort);
    checked.send(v2('0.0.0.0', 0, 'local'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(checked.isClosed()).toBe(false);
    checked.close();
    const spoofing = await TcpDevice.connect(commandPort, UNTRUSTED);
    spoofing.send(v2('198.51.100.92'));
    expect(await outcome(spoofing)).toEqual({ echoed: false, closed: true });
  });
});
