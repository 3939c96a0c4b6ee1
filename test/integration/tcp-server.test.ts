import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEventBus, type DomainEvent } from '../../src/domain/events.js';
import type { FotaCommand } from '../../src/domain/model.js';
import { DeviceConnections } from '../../src/domain/services/connections.js';
import { formatTcpFota, startTcpCommandServer, type TcpCommandServer } from '../../src/transports/mcs-tcp/server.js';
import { startServer, type TestServer } from '../support/server.js';

interface TestDevice {
  deviceId: string;
  deviceKey: string;
}

interface TcpUnderTest {
  readonly tcp: TcpCommandServer;
  readonly connections: DeviceConnections;
  readonly events: DomainEvent[];
}

let server: TestServer;
let device: TestDevice;
let other: TestDevice;
const started: TcpUnderTest[] = [];
const clients: Client[] = [];

async function startTcp(
  options: { echoHeartbeat?: boolean; heartbeatTimeoutMs?: number; writeGapMs?: number } = {},
): Promise<TcpUnderTest> {
  const events: DomainEvent[] = [];
  const bus = new LocalEventBus((error) => {
    throw error;
  });
  bus.subscribe((event) => {
    events.push(event);
  });
  const connections = new DeviceConnections({ events: bus, clock: { now: () => new Date() } });
  const tcp = await startTcpCommandServer({
    host: '127.0.0.1',
    port: 0,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 120_000,
    echoHeartbeat: options.echoHeartbeat ?? true,
    writeGapMs: options.writeGapMs ?? 0,
    deviceSelf: server.app.services.deviceSelf,
    connections,
    logger: pino({ level: 'silent' }),
  });
  const underTest = { tcp, connections, events };
  started.push(underTest);
  return underTest;
}

/** Polls until `check` holds; fails after a few seconds. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A device's side of a TCP connection: what it received, chunk by chunk, and whether it closed. */
class Client {
  readonly chunks: Buffer[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static async open(tcp: TcpCommandServer): Promise<Client> {
    const socket = connect({ port: tcp.port(), host: '127.0.0.1', noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new Client(socket);
    clients.push(client);
    return client;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  async receives(expected: string): Promise<void> {
    await until(() => this.text().length >= expected.length || this.closed, `"${expected}"`);
    expect(this.text()).toBe(expected);
  }

  async isClosedByServer(): Promise<void> {
    await until(() => this.closed, 'the server to close the connection');
  }

  close(): void {
    this.socket.destroy();
  }
}

const heartbeat = (d: TestDevice, timestamp = '0') => `${d.deviceId},${d.deviceKey},${timestamp}`;
const command: FotaCommand = {
  kind: 'fota',
  pushId: 'U00000000000',
  firmwareId: 'FAa6B540CMmJ',
  size: 1024,
  sha256: '0'.repeat(64),
  timestamp: 1513132150790,
  version: '2.0',
  md5: '6a94d5c1e3c2b1a0f9e8d7c6b5a4f3e2',
  url: 'http://127.0.0.1/f/FAa6B540CMmJ/a.bin',
};

beforeAll(async () => {
  server = await startServer();
  const prototypeId = (await server.api<any>('POST', '/prototypes', { name: 'LinkIt 7687' })).body.prototypeId;
  device = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name: 'unit 1' })).body;
  other = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name: 'unit 2' })).body;
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const { tcp } of started) await tcp.close();
  await server?.stop();
});

describe('TCP command server: heartbeats of real clients', () => {
  let echo: TcpUnderTest;
  beforeAll(async () => {
    echo = await startTcp();
  });

  const forms: [string, (d: TestDevice) => string, (d: TestDevice) => string][] = [
    ['Python tutorial and mcsjs', (d) => heartbeat(d), (d) => heartbeat(d)],
    ['mcs.c, NUL-padded to 50 bytes', (d) => heartbeat(d).padEnd(50, '\0'), (d) => heartbeat(d)],
    ['7697 Arduino, no timestamp', (d) => heartbeat(d, ''), (d) => heartbeat(d, '')],
    ['LinkIt ONE, CRLF CRLF', (d) => `${heartbeat(d)}\r\n\r\n`, (d) => heartbeat(d)],
    ['a 13-digit timestamp', (d) => heartbeat(d, '1513132150790'), (d) => heartbeat(d, '1513132150790')],
    ['two in one segment, no delimiter', (d) => heartbeat(d).repeat(2), (d) => heartbeat(d).repeat(2)],
    [
      'three forms in one segment',
      (d) => `${heartbeat(d).padEnd(50, '\0')}${heartbeat(d, '')}${heartbeat(d)}\r\n\r\n`,
      (d) => `${heartbeat(d)}${heartbeat(d, '')}${heartbeat(d)}`,
    ],
  ];

  it.each(forms)('%s: echoed, online, then offline when it disconnects', async (_what, sent, echoed) => {
    const client = await Client.open(echo.tcp);
    await client.write(sent(device));
    await client.receives(echoed(device));
    expect(echo.connections.presence(device.deviceId)).toMatchObject({ online: true, protocol: 'tcp' });
    client.close();
    await until(() => !echo.connections.presence(device.deviceId).online, 'offline');
    expect(echo.tcp.connectionCount()).toBe(0);
  });

  it('accepts one heartbeat split over several segments', async () => {
    const client = await Client.open(echo.tcp);
    const bytes = heartbeat(device);
    for (const part of [bytes.slice(0, 3), bytes.slice(3, 12), bytes.slice(12, 25), bytes.slice(25)]) {
      await client.write(part);
      await pause(20);
    }
    await client.receives(bytes);
    expect(echo.connections.presence(device.deviceId).online).toBe(true);
  });

  it('accepts a heartbeat sent byte by byte', async () => {
    const client = await Client.open(echo.tcp);
    for (const byte of `${heartbeat(device)}\r\n\r\n`) await client.write(byte);
    // the heartbeat is taken at once when its timestamp may still come: the echo may lack the 0
    await until(() => client.text().startsWith(`${device.deviceId},${device.deviceKey},`), 'the echo');
    expect(echo.connections.presence(device.deviceId).online).toBe(true);
    expect(client.closed).toBe(false);
  });

  it('accepts messages cut across segments with the next one glued on', async () => {
    const client = await Client.open(echo.tcp);
    const bytes = heartbeat(device).repeat(3);
    await client.write(bytes.slice(0, 20));
    await pause(20);
    await client.write(bytes.slice(20, 50));
    await pause(20);
    await client.write(bytes.slice(50));
    await client.receives(bytes);
  });

  it('touches the device at each later heartbeat', async () => {
    const client = await Client.open(echo.tcp);
    await client.write(heartbeat(device));
    await client.receives(heartbeat(device));
    const first = echo.connections.presence(device.deviceId).lastSeen!.getTime();
    await pause(20);
    await client.write(heartbeat(device));
    await client.receives(heartbeat(device).repeat(2));
    expect(echo.connections.presence(device.deviceId).lastSeen!.getTime()).toBeGreaterThan(first);
  });

  it('publishes online and offline events', async () => {
    echo.events.length = 0;
    const client = await Client.open(echo.tcp);
    await client.write(heartbeat(other));
    await client.receives(heartbeat(other));
    client.close();
    await until(() => echo.events.length === 2, 'two events');
    expect(echo.events.map((event) => [event.type, 'protocol' in event && event.protocol])).toEqual([
      ['device.online', 'tcp'],
      ['device.offline', 'tcp'],
    ]);
  });
});

describe('TCP command server: refusals', () => {
  let tcp: TcpUnderTest;
  beforeAll(async () => {
    tcp = await startTcp();
  });

  it('closes a connection with a wrong key, without echo', async () => {
    const client = await Client.open(tcp.tcp);
    await client.write(`${device.deviceId},${other.deviceKey},0`);
    await client.isClosedByServer();
    expect(client.text()).toBe('');
    expect(tcp.connections.presence(device.deviceId).online).toBe(false);
  });

  it('closes a connection of an unknown device', async () => {
    const client = await Client.open(tcp.tcp);
    const unknown = device.deviceId === 'DAAAAAAA' ? 'DBBBBBBB' : 'DAAAAAAA';
    await client.write(`${unknown},${device.deviceKey},0`);
    await client.isClosedByServer();
    expect(client.text()).toBe('');
  });

  it('closes a connection whose later heartbeat names another device', async () => {
    const client = await Client.open(tcp.tcp);
    await client.write(heartbeat(device));
    await client.receives(heartbeat(device));
    await client.write(heartbeat(other));
    await client.isClosedByServer();
    await until(() => !tcp.connections.presence(device.deviceId).online, 'offline');
  });

  it('closes a connection that sent 1 KiB without a valid heartbeat', async () => {
    const client = await Client.open(tcp.tcp);
    await client.write('x'.repeat(1024));
    await client.isClosedByServer();
  });

  it('closes an identified connection that then sends 1 KiB of junk', async () => {
    const client = await Client.open(tcp.tcp);
    await client.write(heartbeat(device));
    await client.receives(heartbeat(device));
    await client.write(Buffer.alloc(1024, 0xff));
    await client.isClosedByServer();
  });

  it('keeps a connection whose junk stays under 1 KiB before a heartbeat', async () => {
    const client = await Client.open(tcp.tcp);
    await client.write(`${'x'.repeat(1000)}\n${heartbeat(device)}`);
    await client.receives(heartbeat(device));
    expect(client.closed).toBe(false);
  });

  it('survives arbitrary bytes', async () => {
    const client = await Client.open(tcp.tcp);
    const bytes = Buffer.alloc(4096);
    for (let index = 0; index < bytes.length; index++) bytes[index] = (index * 7919) % 256;
    await client.write(bytes).catch(() => undefined);
    await client.isClosedByServer();
    const after = await Client.open(tcp.tcp);
    await after.write(heartbeat(device));
    await after.receives(heartbeat(device));
  });

  it('lets a second connection of the same device replace the first', async () => {
    const first = await Client.open(tcp.tcp);
    await first.write(heartbeat(device));
    await first.receives(heartbeat(device));
    const second = await Client.open(tcp.tcp);
    await second.write(heartbeat(device));
    await second.receives(heartbeat(device));
    await first.isClosedByServer();
    expect(second.closed).toBe(false);
    expect(tcp.connections.presence(device.deviceId).online).toBe(true);
    await tcp.connections.current(device.deviceId)!.send(command);
    await second.receives(heartbeat(device) + formatTcpFota(device.deviceId, device.deviceKey, command));
  });
});

describe('TCP command server: heartbeat timeout', () => {
  let tcp: TcpUnderTest;
  beforeAll(async () => {
    tcp = await startTcp({ heartbeatTimeoutMs: 300 });
  });

  it('closes a connection that never sends a heartbeat', async () => {
    const client = await Client.open(tcp.tcp);
    await client.isClosedByServer();
    expect(client.text()).toBe('');
  });

  it('closes a connection whose heartbeats stop, and the device goes offline', async () => {
    const client = await Client.open(tcp.tcp);
    await client.write(heartbeat(device));
    await client.receives(heartbeat(device));
    expect(tcp.connections.presence(device.deviceId).online).toBe(true);
    await client.isClosedByServer();
    await until(() => !tcp.connections.presence(device.deviceId).online, 'offline');
  });
});

describe('TCP command server: heartbeats restart the timeout', () => {
  it('keeps a connection whose heartbeats come more often than the timeout, past the timeout', async () => {
    // 16 heartbeats 250 ms apart span 4 s, past a 3 s timeout; only a 3 s gap between two could close it.
    const tcp = await startTcp({ heartbeatTimeoutMs: 3000 });
    const client = await Client.open(tcp.tcp);
    const beats = 16;
    for (let beat = 1; beat <= beats; beat++) {
      await client.write(heartbeat(device));
      await client.receives(heartbeat(device).repeat(beat));
      await pause(250);
    }
    expect(client.closed).toBe(false);
    await client.isClosedByServer();
    await until(() => !tcp.connections.presence(device.deviceId).online, 'offline');
  });
});

describe('TCP command server: FOTA commands', () => {
  let quiet: TcpUnderTest;
  beforeAll(async () => {
    quiet = await startTcp({ echoHeartbeat: false });
  });

  async function online(d: TestDevice): Promise<Client> {
    const client = await Client.open(quiet.tcp);
    await client.write(heartbeat(d).padEnd(50, '\0'));
    await until(() => quiet.connections.presence(d.deviceId).online, 'online');
    return client;
  }

  it('echoes nothing when the echo is off, and writes the FOTA line byte for byte in one chunk', async () => {
    const client = await online(device);
    await quiet.connections.current(device.deviceId)!.send(command);
    const line = `${device.deviceId},${device.deviceKey},1513132150790,FOTA,2.0,6a94d5c1e3c2b1a0f9e8d7c6b5a4f3e2,http://127.0.0.1/f/FAa6B540CMmJ/a.bin`;
    await until(() => client.chunks.length > 0, 'the FOTA line');
    expect(client.chunks[0]!.toString('latin1')).toBe(line);
    expect(Buffer.byteLength(line)).toBeLessThan(200);
    expect(line).not.toMatch(/[\r\n\0]/);
    expect(line.split(',')).toHaveLength(7);
    client.close();
  });

  it('writes null for an unknown MD5', async () => {
    const client = await online(other);
    await quiet.connections.current(other.deviceId)!.send({ ...command, md5: '' });
    await client.receives(`${other.deviceId},${other.deviceKey},1513132150790,FOTA,2.0,null,${command.url}`);
    client.close();
  });

  it('refuses a line of 200 bytes or more and sends nothing', async () => {
    const client = await online(device);
    const connection = quiet.connections.current(device.deviceId)!;
    await expect(connection.send({ ...command, url: `http://127.0.0.1/${'a'.repeat(150)}` })).rejects.toThrow(/200/);
    await connection.send(command);
    await client.receives(formatTcpFota(device.deviceId, device.deviceKey, command));
    client.close();
  });

  it('refuses to send once the connection closed', async () => {
    const client = await online(device);
    const connection = quiet.connections.current(device.deviceId)!;
    client.close();
    await until(() => !quiet.connections.presence(device.deviceId).online, 'offline');
    await expect(connection.send(command)).rejects.toThrow(/closed/);
  });
});

describe('TCP command server: shutdown', () => {
  it('stops listening and ends every connection', async () => {
    const underTest = await startTcp();
    const identified = await Client.open(underTest.tcp);
    await identified.write(heartbeat(device));
    await identified.receives(heartbeat(device));
    const silent = await Client.open(underTest.tcp);
    await until(() => underTest.tcp.connectionCount() === 2, 'two connections');
    await underTest.tcp.close();
    await identified.isClosedByServer();
    await silent.isClosedByServer();
    expect(underTest.tcp.connectionCount()).toBe(0);
    expect(underTest.connections.presence(device.deviceId).online).toBe(false);
    await expect(Client.open(underTest.tcp)).rejects.toThrow();
  });
});
