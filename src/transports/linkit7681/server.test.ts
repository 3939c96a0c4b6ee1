import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainError, notFound } from '../../domain/errors.js';
import { LocalEventBus, type DomainEvent } from '../../domain/events.js';
import type { Actor } from '../../domain/model.js';
import { DeviceConnections } from '../../domain/services/connections.js';
import { AuthThrottle } from '../../net/auth-throttle.js';
import { deviceKeyBytes } from './crypto.js';
import { decodeFrame, encodeFrame, fotaInfo, keepAlive, Management, type Frame, FrameType } from './frames.js';
import { startLinkitCommandServer, type LinkitCommandServer } from './server.js';

const ID = 'Dq1w2e3r';
const KEY_TEXT = 'abcdefghijklmnop';
const KEY = deviceKeyBytes(KEY_TEXT)!;

/** A device service over one known device, with the reports it got. */
function fakeDeviceSelf() {
  const reports: string[] = [];
  return {
    reports,
    authenticateByProof: async (deviceId: string, proves: (key: string) => boolean) => {
      if (deviceId !== ID) throw notFound(`no device ${deviceId}`);
      if (!proves(KEY_TEXT)) throw new DomainError('unauthenticated', 'wrong key');
      return { kind: 'device' as const, deviceId, prototypeId: 'P', key: KEY_TEXT };
    },
    reportFirmware: async (_actor: Actor, _deviceId: string, version: string) => {
      reports.push(version);
      return undefined as never;
    },
  };
}

let server: LinkitCommandServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
});

async function start(options: { identifyTimeoutMs?: number; throttle?: AuthThrottle } = {}) {
  const events: DomainEvent[] = [];
  const bus = new LocalEventBus(() => {});
  bus.subscribe((event) => void events.push(event));
  const connections = new DeviceConnections({ events: bus, clock: { now: () => new Date() } });
  const deviceSelf = fakeDeviceSelf();
  server = await startLinkitCommandServer({
    host: '127.0.0.1',
    port: 0,
    deviceSelf,
    connections,
    logger: pino({ level: 'silent' }),
    identifyTimeoutMs: options.identifyTimeoutMs ?? 10_000,
    idleTimeoutMs: 10_000,
    writeGapMs: 0,
    throttle: options.throttle,
    command: () => Promise.reject(new Error('no commands here')),
    fotaAnswered: () => {},
  });
  return { events, connections, deviceSelf, port: server.port() };
}

/** A raw socket with the frames it received, decoded with the device's key. */
async function board(port: number) {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  sockets.push(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  const received: Frame[] = [];
  let raw = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    raw = Buffer.concat([raw, chunk]);
    // The server sends header-only keep-alive answers, 28 bytes each, in this test.
    while (raw.length >= 28) {
      const frame = decodeFrame(KEY, ID, raw.subarray(0, 28));
      if (frame) received.push(frame);
      raw = raw.subarray(28);
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received, closed };
}

const until = async (check: () => boolean, what: string) => {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > 15_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('the 7681 command server', () => {
  it('answers each keep-alive with its CommandID echoed and records FOTA_INFO as the reported version', async () => {
    const { events, deviceSelf, port } = await start();
    const device = await board(port);
    device.socket.write(encodeFrame(KEY, keepAlive(ID, 0)));
    await until(() => device.received.length === 1, 'the first answer');
    expect(device.received[0]).toEqual({
      deviceId: ID,
      commandId: 0,
      type: FrameType.management,
      subType: Management.keepAliveResponse,
    });
    device.socket.write(encodeFrame(KEY, fotaInfo(ID, 1, { bootMode: 0, major: 1, minor: 60 })));
    await until(() => deviceSelf.reports.length === 1, 'the report');
    expect(deviceSelf.reports).toEqual(['1.60']);
    device.socket.write(encodeFrame(KEY, keepAlive(ID, 2)));
    await until(() => device.received.length === 2, 'the second answer');
    expect(device.received[1]!.commandId).toBe(2);
    expect(events.filter((event) => event.type === 'device.online')).toMatchObject([
      { deviceId: ID, protocol: 'linkit7681' },
    ]);
  });

  it('refuses a board whose frame does not decrypt with the device key, and counts the failure', async () => {
    const throttle = new AuthThrottle({ burst: 5, failuresPerMinute: 1, maxAddresses: 10 });
    const { events, port } = await start({ throttle });
    const device = await board(port);
    device.socket.write(encodeFrame(deviceKeyBytes('ponmlkjihgfedcba')!, keepAlive(ID, 0)));
    await device.closed;
    expect(device.received).toEqual([]);
    expect(events).toEqual([]);
    expect(throttle.size).toBe(1);
  });

  it('closes a connection that sends 1 KiB of garbage, and one that never identifies', async () => {
    const { port } = await start({ identifyTimeoutMs: 300 });
    const noisy = await board(port);
    // Below the 560 bytes held at most, in pieces: the garbage count closes it.
    for (let i = 0; i < 5; i++) noisy.socket.write(Buffer.alloc(300, 0x41));
    await noisy.closed;
    const silent = await board(port);
    await silent.closed;
    await until(() => server!.connectionCount() === 0, 'the server to close both');
  });

  it('never formats CONTROL_OFFLINE_REQUEST', () => {
    expect(() =>
      encodeFrame(KEY, {
        deviceId: ID,
        commandId: 1,
        type: FrameType.management,
        subType: Management.controlOfflineRequest,
      }),
    ).toThrow(/never sent/);
  });
});
