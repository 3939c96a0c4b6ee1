import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Linkit7681Board } from '../../src/simulator/linkit7681/board.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { freePort, testEnvironment, uploadFirmware, type TestServer } from '../support/server.js';

// A real `fota serve` with the LinkIt 7681 servers on free loopback ports. The board is told port
// 999 (the advertised port must have three digits at most) and the emulator's "router" forwards
// 999 to the real command port and port 80 to the discovery port, as DNAT would in front of a server.
let child: ChildServer;
let server: Pick<TestServer, 'url' | 'token'>;
let commandPort: number;
let discoveryPort: number;
let prototypeId: string;
const fw: Record<string, { fwId: string }> = {};

async function api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${server.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** An MT7681_sta_header.bin: the 128-byte header 76 81 AA, the body length, type 4 (STA), then the body. */
function image(bodyBytes: number, seed: number): Buffer {
  const header = Buffer.alloc(128);
  Buffer.from([0x76, 0x81, 0xaa]).copy(header);
  header.writeUInt32LE(bodyBytes, 3);
  header[7] = 4;
  return Buffer.concat([header, Buffer.from(Array.from({ length: bodyBytes }, (_, i) => (i * seed) & 0xff))]);
}

beforeAll(async () => {
  commandPort = await freePort();
  discoveryPort = await freePort();
  const env = await testEnvironment({
    FOTA_LINKIT7681_ENABLED: 'true',
    FOTA_LINKIT7681_PORT: String(commandPort),
    FOTA_LINKIT7681_PUBLIC_PORT: '999',
    FOTA_LINKIT7681_PUBLIC_HOST: '127.0.0.1',
    FOTA_LINKIT7681_DISCOVERY_PORT: String(discoveryPort),
    FOTA_LINKIT7681_WRITE_GAP_MS: '50',
  });
  child = await startChildServer(env);
  server = { url: child.url, token: env['FOTA_ADMIN_TOKEN']! };
  prototypeId = (await api('POST', '/prototypes', { name: '7681 sensor', board: 'linkit7681' })).body.prototypeId;
  // 1.60 is the factory version; 200 body bytes: E mod 128 ≠ 0. 632 body bytes: E mod 128 = 0 (case B).
  for (const [version, size] of [
    ['1.60', 200],
    ['1.61', 632],
    ['1.62', 1000],
  ] as const) {
    const uploaded = await uploadFirmware(
      server as TestServer,
      prototypeId,
      { name: `fw ${version}`, version },
      image(size, size),
    );
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    fw[version] = uploaded.body;
  }
});

afterAll(async () => {
  await child?.kill('SIGTERM');
});

async function newBoard() {
  const device = (await api('POST', `/prototypes/${prototypeId}/devices`, { name: 'board' })).body;
  const board = new Linkit7681Board({
    deviceId: device.deviceId,
    deviceKey: device.deviceKey,
    discovery: { host: '127.0.0.1', port: discoveryPort },
    forward: ({ port }) => ({
      host: '127.0.0.1',
      port: port === 999 ? commandPort : port === 80 ? discoveryPort : port,
    }),
    major: 1,
    minor: 60,
  });
  return { device, board };
}

/** Retries an assertion until it holds, or throws its last failure after `ms`. */
async function until(assertion: () => Promise<void>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const reported = async (deviceId: string) => (await api('GET', `/devices/${deviceId}`)).body.firmware?.version;

async function targetOf(pushId: string, deviceId: string) {
  const answer = await api('GET', `/pushes/${pushId}/targets`);
  return answer.body.targets.find((target: any) => target.deviceId === deviceId);
}

describe('LinkIt Connect 7681 through fota serve', () => {
  it('refuses a version that does not fit the board at upload', async () => {
    const answer = await uploadFirmware(
      server as TestServer,
      prototypeId,
      { name: 'x', version: '1.2.3' },
      image(10, 1),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/does not fit a LinkIt 7681 board/);
  });

  it('does not discover a device of an MCS prototype, even with its right key', async () => {
    const mcs = (await api('POST', '/prototypes', { name: 'lamp' })).body.prototypeId;
    const device = (await api('POST', `/prototypes/${mcs}/devices`, { name: 'lamp' })).body;
    const board = new Linkit7681Board({
      deviceId: device.deviceId,
      deviceKey: device.deviceKey,
      discovery: { host: '127.0.0.1', port: discoveryPort },
      major: 1,
      minor: 60,
    });
    await expect(board.start()).rejects.toThrow(/cannot read the connect answer ""/);
  });

  it('discovers, reports 1.60, takes a push of 1.61, downloads and checks it, reboots and is upgraded', async () => {
    const { device, board } = await newBoard();
    await board.start();
    expect(board.events[0]).toEqual({ type: 'connected', advertised: { host: '127.0.0.1', port: 999 } });
    await until(async () => expect(await reported(device.deviceId)).toBe('1.60'));
    expect((await api('GET', `/devices/${device.deviceId}`)).body.presence).toMatchObject({
      online: true,
      protocol: 'linkit7681',
    });
    board.keepAlive();
    const pushed = await api('POST', `/firmwares/${fw['1.61']!.fwId}/push`, { deviceIds: [device.deviceId] });
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
    await until(async () => expect(board.events.some((event) => event.type === 'rebooted')).toBe(true), 20_000);
    expect(board.events).toContainEqual({ type: 'fota', status: 0 });
    await until(
      async () => expect((await targetOf(pushed.body.pushId, device.deviceId))?.status).toBe('upgraded'),
      20_000,
    );
    expect(await reported(device.deviceId)).toBe('1.61');
    board.stop();
  });

  it('fails the push when the download arrives corrupted (bad MD5) and the board comes back with the old version', async () => {
    const { device, board } = await newBoard();
    await board.start();
    await until(async () => expect(await reported(device.deviceId)).toBe('1.60'));
    board.keepAlive();
    (board as unknown as { options: { corruptNextDownload: boolean } }).options.corruptNextDownload = true;
    const pushed = await api('POST', `/firmwares/${fw['1.61']!.fwId}/push`, { deviceIds: [device.deviceId] });
    expect(pushed.status).toBe(201);
    await until(async () => {
      const target = await targetOf(pushed.body.pushId, device.deviceId);
      expect(target?.status).toBe('failed');
      expect(target?.reason).toMatch(/reported version 1\.60 instead of 1\.61/);
    }, 20_000);
    expect(board.events).toContainEqual({ type: 'update-failed', reason: 'MD5 mismatch' });
    board.stop();
  });

  it('fails the push the board refuses as not higher than its version', async () => {
    const { device, board } = await newBoard();
    await board.start();
    await until(async () => expect(await reported(device.deviceId)).toBe('1.60'));
    board.keepAlive();
    // As after `AT#FLASH -s0x18153 -v2`: the board now holds 2.0 and reports it only at its next session.
    const options = (board as unknown as { options: { major: number } }).options;
    options.major = 2;
    const pushed = await api('POST', `/firmwares/${fw['1.62']!.fwId}/push`, { deviceIds: [device.deviceId] });
    await until(async () => {
      const target = await targetOf(pushed.body.pushId, device.deviceId);
      expect(target?.status).toBe('failed');
      expect(target?.reason).toMatch(/reported version 1\.60 instead of 1\.62/);
    }, 20_000);
    expect(board.events).toContainEqual({ type: 'fota', status: 1 });
    board.stop();
  });

  it('fails a push whose file is no MT7681 image, saying why, without sending the board anything', async () => {
    const { device, board } = await newBoard();
    await board.start();
    await until(async () => expect(await reported(device.deviceId)).toBe('1.60'));
    const raw = await uploadFirmware(
      server as TestServer,
      prototypeId,
      { name: 'raw', version: '1.63' },
      'no header here',
    );
    expect(raw.status).toBe(201);
    const pushed = await api('POST', `/firmwares/${raw.body.fwId}/push`, { deviceIds: [device.deviceId] });
    await until(async () => {
      const target = await targetOf(pushed.body.pushId, device.deviceId);
      expect(target?.status).toBe('failed');
      expect(target?.reason).toMatch(/starts with its 128-byte header 76 81 AA/);
    });
    expect(board.events.filter((event) => event.type === 'fota')).toEqual([]);
    board.stop();
  });

  it('survives arbitrary bytes on the command and discovery ports (property, fixed seed)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 700 }), fc.boolean(), async (bytes, magic) => {
        const socket = connect({ host: '127.0.0.1', port: commandPort });
        await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        socket.on('error', () => {});
        socket.write(magic ? Buffer.concat([Buffer.from([0x50, 0x43, 0x81, 0x76]), bytes]) : bytes);
        socket.destroy();
      }),
      { numRuns: 40, seed: 7681 },
    );
    for (const path of [
      '/devcloud/device/%00%01/connect/zz',
      `/devcloud/device/D0000000/connect/${'0'.repeat(64)}`,
      '/',
    ]) {
      const answer = await fetch(`http://127.0.0.1:${discoveryPort}${path}`);
      expect([403, 404]).toContain(answer.status);
      expect(await answer.text()).toBe('');
    }
    expect((await fetch(`${server.url}/healthz`)).ok).toBe(true);
    expect(child.process.exitCode).toBeNull();
  });
});
