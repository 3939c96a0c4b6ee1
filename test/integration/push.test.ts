import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/data-dir.js';
import { connectOverTcp, reportVersion } from '../support/devices.js';
import { rawRequest } from '../support/raw-http.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

let server: TestServer;
let prototypeId: string;
const fw: Record<string, any> = {};
const sockets: TcpDevice[] = [];

beforeAll(async () => {
  server = await startServer();
  prototypeId = (await server.api<any>('POST', '/prototypes', { name: 'push' })).body.prototypeId;
  fw['1'] = (await uploadFirmware(server, prototypeId, { name: 'one', version: '1' }, 'one one')).body;
  fw['2'] = (
    await uploadFirmware(server, prototypeId, { name: 'two', version: '2', prerequisites: fw['1'].fwId }, 'two two')
  ).body;
  fw['3'] = (
    await uploadFirmware(server, prototypeId, { name: 'three', version: '3', prerequisites: fw['2'].fwId }, 'three')
  ).body;
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.stop();
});

interface Device {
  deviceId: string;
  deviceKey: string;
}

async function newDevice(name: string, reportVersion?: string): Promise<Device> {
  const device = (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name })).body as Device;
  if (reportVersion !== undefined) await report(device, reportVersion);
  return device;
}

const report = (device: Device, version: string): Promise<number> => reportVersion(server, device, version);

/** Connects a device over TCP with the Python tutorial's heartbeat and waits until it is online. */
async function online(device: Device): Promise<TcpDevice> {
  const socket = await connectOverTcp(server, device);
  sockets.push(socket);
  return socket;
}

async function push(firmware: any, deviceIds: string[], options: Record<string, unknown> = {}) {
  return server.api<any>('POST', `/firmwares/${firmware.fwId}/push`, { deviceIds, ...options });
}

async function targetOf(pushId: string, deviceId: string, on: TestServer = server): Promise<any> {
  const answer = await on.api<any>('GET', `/pushes/${pushId}/targets?limit=500`);
  return answer.body.targets.find((target: any) => target.deviceId === deviceId);
}

/** The pushed URL in a FOTA line: the public URL, then /fw/p/ and a 21-character token. */
const PUSHED_URL = (base: string) => `${base.replace(/[.]/g, '\\.')}/fw/p/[A-Za-z0-9]{21}`;

const statusBecomes = (pushId: string, deviceId: string, status: string) =>
  eventually(
    () => targetOf(pushId, deviceId),
    (target) => target?.status === status,
  );

describe('a push over TCP', () => {
  it('sends the FOTA line byte for byte and follows the device to upgraded', async () => {
    const device = await newDevice('a', '1');
    const socket = await online(device);
    const answer = await push(fw['2'], [device.deviceId]);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      fwId: fw['2'].fwId,
      version: '2',
      createdBy: 'admin',
      force: false,
      selection: 'ids',
      status: 'pending',
      total: 1,
      counts: { queued: 1 },
    });
    expect(answer.body.pushId).toMatch(/^U[A-Za-z0-9]{11}$/);
    expect(answer.body).not.toHaveProperty('targets');

    const pattern = new RegExp(
      `${device.deviceId},${device.deviceKey},(\\d{13}),FOTA,2,${fw['2'].md5},(${PUSHED_URL(server.url)})$`,
    );
    const text = await socket.waitFor(pattern);
    const url = pattern.exec(text)![2]!;
    await statusBecomes(answer.body.pushId, device.deviceId, 'sent');
    // The heartbeat echo, then the FOTA line, without any newline.
    expect(text.startsWith(`${device.deviceId},${device.deviceKey},0`)).toBe(true);
    const line = text.slice(`${device.deviceId},${device.deviceKey},0`.length);
    expect(line).toMatch(pattern);
    expect(Buffer.byteLength(line)).toBeLessThan(200);
    expect(line).not.toContain('\n');

    const download = await fetch(url);
    expect(await download.text()).toBe('two two');
    await statusBecomes(answer.body.pushId, device.deviceId, 'downloading');
    expect(await report(device, '2')).toBe(200);
    const done = await statusBecomes(answer.body.pushId, device.deviceId, 'upgraded');
    expect(done.history.map((step: any) => step.status)).toEqual(['queued', 'sent', 'downloading', 'upgraded']);

    const history = await server.api<any[]>('GET', `/devices/${device.deviceId}/pushes`);
    expect(history.body.map((p) => p.pushId)).toEqual([answer.body.pushId]);
    const byFirmware = await server.api<any[]>('GET', `/firmwares/${fw['2'].fwId}/pushes`);
    expect(byFirmware.body.map((p) => p.pushId)).toContain(answer.body.pushId);
  });

  it('answers an offline device offline and sends nothing, in the same push as an online one', async () => {
    const up = await newDevice('up', '1');
    const down = await newDevice('down', '1');
    const socket = await online(up);
    const answer = await push(fw['2'], [up.deviceId, down.deviceId]);
    expect(answer.body).toMatchObject({ total: 2, counts: { queued: 1, offline: 1 } });
    await socket.waitFor(',FOTA,2,');
    await statusBecomes(answer.body.pushId, up.deviceId, 'sent');
    expect((await targetOf(answer.body.pushId, down.deviceId)).status).toBe('offline');
    const page = await server.api<any>('GET', `/pushes/${answer.body.pushId}/targets?status=offline`);
    expect(page.body).toEqual({
      targets: [expect.objectContaining({ deviceId: down.deviceId, reason: 'the device is not connected' })],
      nextCursor: null,
    });
  });

  it('answers incompatible unless forced', async () => {
    const device = await newDevice('never reported');
    const socket = await online(device);
    const refused = await push(fw['3'], [device.deviceId]);
    expect(refused.body).toMatchObject({ status: 'finished', counts: { incompatible: 1 } });
    expect(await targetOf(refused.body.pushId, device.deviceId)).toMatchObject({
      status: 'incompatible',
      reason: expect.stringContaining('never reported'),
    });
    const forced = await push(fw['3'], [device.deviceId], { force: true });
    expect(forced.body.counts.queued).toBe(1);
    await socket.waitFor(',FOTA,3,');
  });

  it('delivers a queued push exactly once when the device next connects', async () => {
    const device = await newDevice('sleeper', '1');
    const answer = await push(fw['2'], [device.deviceId], { queueOffline: true });
    expect(answer.body).toMatchObject({ status: 'pending', counts: { queued: 1 } });

    const first = await online(device);
    await first.waitFor(',FOTA,2,');
    await statusBecomes(answer.body.pushId, device.deviceId, 'sent');
    first.close();
    await eventually(
      () => server.api<any>('GET', `/devices/${device.deviceId}`),
      (d) => d.body.presence.online === false,
    );
    const second = await online(device);
    second.send(`${device.deviceId},${device.deviceKey},0`);
    await second.waitFor(`${device.deviceId},${device.deviceKey},0${device.deviceId},${device.deviceKey},0`);
    expect(second.text()).not.toContain('FOTA');
    expect((first.text().match(/FOTA/g) ?? []).length).toBe(1);
  });

  it('fails a push when the device reports another version', async () => {
    const device = await newDevice('wrong', '1');
    await online(device);
    const answer = await push(fw['3'], [device.deviceId], { force: true });
    expect(await report(device, '2')).toBe(200);
    const failed = await statusBecomes(answer.body.pushId, device.deviceId, 'failed');
    expect(failed.reason).toContain('reported version 2 instead of 3');
    // Terminal states stay terminal.
    expect(await report(device, '3')).toBe(200);
    expect((await targetOf(answer.body.pushId, device.deviceId)).status).toBe('failed');
  });

  it('moves to downloading when the device uploads status,,fotaing, and supersedes an older push', async () => {
    const device = await newDevice('fotaing', '1');
    await online(device);
    const older = await push(fw['2'], [device.deviceId]);
    await statusBecomes(older.body.pushId, device.deviceId, 'sent');
    const newer = await push(fw['2'], [device.deviceId]);
    expect((await targetOf(older.body.pushId, device.deviceId)).reason).toContain(newer.body.pushId);
    const response = await rawRequest(
      server.port,
      `POST /mcs/v2/devices/${device.deviceId}/datapoints.csv HTTP/1.1\r\nHost: x\r\ndeviceKey: ${device.deviceKey}\r\nContent-Type: 'text/csv'\r\nContent-Length: 15\r\nConnection: close\r\n\r\nstatus,,fotaing`,
    );
    expect(response.status).toBe(200);
    expect(response.body).toBe('Success.');
    await statusBecomes(newer.body.pushId, device.deviceId, 'downloading');
    const overview = await server.api<any>('GET', `/devices/${device.deviceId}`);
    expect(overview.body.channels).toEqual([
      { channelId: 'status', values: { value: 'fotaing' }, timestamp: expect.any(String) },
    ]);
  });

  it('shows presence with protocol and times', async () => {
    const device = await newDevice('presence');
    const socket = await online(device);
    const seen = (await server.api<any>('GET', `/devices/${device.deviceId}`)).body.presence;
    expect(seen).toEqual({ online: true, protocol: 'tcp', since: expect.any(String), lastSeen: expect.any(String) });
    const listed = (await server.api<any[]>('GET', `/prototypes/${prototypeId}/devices`)).body.find(
      (d) => d.deviceId === device.deviceId,
    );
    expect(listed.presence.online).toBe(true);
    socket.close();
    await eventually(
      () => server.api<any>('GET', `/devices/${device.deviceId}`),
      (d) => d.body.presence.online === false && d.body.presence.protocol === 'tcp',
    );
  });
});

describe('push refusals', () => {
  it.each([
    ['no devices', { deviceIds: [] }],
    ['an unknown device', { deviceIds: ['D0000000'] }],
    ['not a device id', { deviceIds: ['../x'] }],
    ['an unknown field', { deviceIds: ['D0000000'], now: true }],
  ])('refuses %s with 400', async (_case, body) => {
    const answer = await server.api<any>('POST', `/firmwares/${fw['1'].fwId}/push`, body);
    expect(answer.status).toBe(400);
  });

  it('refuses a device of another prototype and names it', async () => {
    const other = (await server.api<any>('POST', '/prototypes', { name: 'other' })).body.prototypeId;
    const stranger = (await server.api<any>('POST', `/prototypes/${other}/devices`, { name: 's' })).body;
    const answer = await server.api<any>('POST', `/firmwares/${fw['1'].fwId}/push`, { deviceIds: [stranger.deviceId] });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain(stranger.deviceId);
  });

  it.each([
    ['both ids and a selection', { deviceIds: ['D0000000'], selection: 'all' }],
    ['neither ids nor a selection', { force: true }],
    ['an unknown selection', { selection: 'some' }],
  ])('refuses %s with 400', async (_case, body) => {
    const answer = await server.api<any>('POST', `/firmwares/${fw['1'].fwId}/push`, body);
    expect(answer.status).toBe(400);
  });

  it.each([
    ['an unknown status', 'status=lost'],
    ['a limit over 500', 'limit=501'],
    ['a limit of 0', 'limit=0'],
    ['an unknown parameter', 'page=2'],
  ])('refuses a target page with %s', async (_case, query) => {
    const created = await push(fw['1'], [(await newDevice('paged')).deviceId], { force: true });
    expect((await server.api('GET', `/pushes/${created.body.pushId}/targets?${query}`)).status).toBe(400);
  });

  it('answers 404 for an unknown firmware or push, and 401 without a token', async () => {
    expect((await server.api('POST', '/firmwares/F00000000000/push', { deviceIds: ['D0000000'] })).status).toBe(404);
    expect((await server.api('GET', '/pushes/U00000000000')).status).toBe(404);
    expect((await server.api('GET', '/pushes/U00000000000/targets')).status).toBe(404);
    const response = await fetch(`${server.url}/api/v1/firmwares/${fw['1'].fwId}/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceIds: ['D0000000'] }),
    });
    expect(response.status).toBe(401);
  });
});

describe('data points over HTTP', () => {
  it('stores JSON data points and answers the MCS envelope', async () => {
    const device = await newDevice('sensor');
    const body = JSON.stringify({
      datapoints: [
        { dataChnId: 'temp', timestamp: 1432538716989, values: { value: 26 } },
        { dataChnId: 'gps', values: { latitude: '25.03', longitude: '121.56', altitude: '10' } },
      ],
    });
    const response = await rawRequest(
      server.port,
      `POST /mcs/v2/devices/${device.deviceId}/datapoints HTTP/1.1\r\nHost: x\r\ndeviceKey:${device.deviceKey}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ code: 200, results: 'success' });
    const channels = (await server.api<any>('GET', `/devices/${device.deviceId}`)).body.channels;
    expect(channels).toEqual([
      {
        channelId: 'gps',
        values: { latitude: '25.03', longitude: '121.56', altitude: '10' },
        timestamp: expect.any(String),
      },
      { channelId: 'temp', values: { value: '26' }, timestamp: new Date(1432538716989).toISOString() },
    ]);
  });

  it.each([
    ['six data points', 'a,,1\nb,,1\nc,,1\nd,,1\ne,,1\nf,,1'],
    ['a bad timestamp', 'temp,yesterday,1'],
    ['a line without a value', 'temp,'],
    ['two values', 'temp,,1,2'],
    ['nothing', ''],
    ['a bad channel id', 'te mp,,1'],
  ])('refuses %s in CSV with the MCS error line and stores nothing', async (_case, body) => {
    const device = await newDevice('csv');
    const response = await rawRequest(
      server.port,
      `POST /mcs/v2/devices/${device.deviceId}/datapoints.csv HTTP/1.1\r\nHost: x\r\ndeviceKey: ${device.deviceKey}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(response.status).toBe(400);
    expect(response.body).toBe('400,None of data points uploaded success.');
    expect((await server.api<any>('GET', `/devices/${device.deviceId}`)).body.channels).toEqual([]);
  });

  it('refuses data points with a wrong key', async () => {
    const device = await newDevice('locked');
    const response = await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/datapoints.csv`, {
      method: 'POST',
      headers: { deviceKey: 'x'.repeat(16) },
      body: 'temp,,1',
    });
    expect(response.status).toBe(401);
  });
});

describe('live events', () => {
  it('streams device presence and push progress as Server-Sent Events', async () => {
    const events: Array<{ event: string; data: any }> = [];
    const stream = request(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${server.token}` } });
    const opened = new Promise<void>((resolve, reject) => {
      stream.on('response', (response) => {
        expect(response.statusCode).toBe(200);
        expect(response.headers['content-type']).toContain('text/event-stream');
        let buffer = '';
        response.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const name = /^event: (.+)$/m.exec(block)?.[1];
            const data = /^data: (.+)$/m.exec(block)?.[1];
            if (name && data) events.push({ event: name, data: JSON.parse(data) });
          }
        });
        resolve();
      });
      stream.on('error', reject);
    });
    stream.end();
    await opened;

    const device = await newDevice('watched', '1');
    await online(device);
    const answer = await push(fw['2'], [device.deviceId]);
    await eventually(
      async () => events.map((e) => `${e.event}:${e.data.status ?? e.data.deviceId}`),
      (seen) => seen.includes('push.progress:sent'),
    );
    expect(await report(device, '2')).toBe(200);
    await eventually(
      async () => events.filter((e) => e.event === 'device.reported' && e.data.version === '2'),
      (reported) => reported.length > 0,
    );
    stream.destroy();
    expect(events).toContainEqual({
      event: 'device.reported',
      data: expect.objectContaining({ deviceId: device.deviceId, fwId: fw['2'].fwId, version: '2' }),
    });
    expect(events).toContainEqual({
      event: 'device.online',
      data: expect.objectContaining({ deviceId: device.deviceId, protocol: 'tcp', prototypeId }),
    });
    expect(events).toContainEqual({
      event: 'push.progress',
      data: expect.objectContaining({
        pushId: answer.body.pushId,
        deviceId: device.deviceId,
        fwId: fw['2'].fwId,
        status: 'sent',
      }),
    });
  });

  it('refuses the event stream without a token', async () => {
    const response = await fetch(`${server.url}/api/v1/events`);
    expect(response.status).toBe(401);
  });
});

describe('push timeouts, one per status', () => {
  it.each([
    [
      'sent',
      { FOTA_PUSH_SENT_TIMEOUT_S: '0.5' },
      false,
      /^timed out in sent after 1 s: the device neither acknowledged/,
    ],
    [
      'downloading',
      { FOTA_PUSH_DOWNLOADING_TIMEOUT_S: '0.5' },
      true,
      /^timed out in downloading after 1 s: the device started the download but did not report/,
    ],
  ])('fails a target left in %s past its own timeout, saying which', async (_status, env, download, reason) => {
    const quick = await startServer({ FOTA_TCP_WRITE_GAP_MS: '0', ...env });
    try {
      const pid = (await quick.api<any>('POST', '/prototypes', { name: 't' })).body.prototypeId;
      const firmware = (await uploadFirmware(quick, pid, { name: 'x', version: '1' }, 'x')).body;
      const device = (await quick.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'd' })).body;
      const socket = await connectOverTcp(quick, device);
      sockets.push(socket);
      const answer = await quick.api<any>('POST', `/firmwares/${firmware.fwId}/push`, { deviceIds: [device.deviceId] });
      const text = await socket.waitFor(/,FOTA,1,\S+$/);
      if (download) {
        const url = /(http:\S+)$/.exec(text)![1]!;
        await fetch(url).then((response) => response.arrayBuffer());
        await eventually(
          () => targetOf(answer.body.pushId, device.deviceId, quick),
          (target) => target.status === 'downloading',
        );
      }
      const failed = await eventually(
        () => targetOf(answer.body.pushId, device.deviceId, quick),
        (target) => target.status === 'failed',
      );
      expect(failed.reason).toMatch(reason);
    } finally {
      await quick.stop();
    }
  });
});

describe('pushed download URLs', () => {
  it('move only the part their token names; ?d= and guessed tokens move nothing', async () => {
    const [a, b] = [await newDevice('token a', '1'), await newDevice('token b', '1')];
    const [sa, sb] = [await online(a), await online(b)];
    const answer = await push(fw['2'], [a.deviceId, b.deviceId]);
    const urlOf = async (socket: TcpDevice) =>
      /,FOTA,2,\w+,(\S+)$/.exec(await socket.waitFor(new RegExp(`,FOTA,2,\\w+,${PUSHED_URL(server.url)}$`)))![1]!;
    const [ua, ub] = [await urlOf(sa), await urlOf(sb)];
    expect(ua).not.toBe(ub);
    await statusBecomes(answer.body.pushId, b.deviceId, 'sent');

    // The old URL shape names a device anyone can read: it no longer moves a push.
    expect((await fetch(`${server.url}/fw/${fw['2'].fwId}?d=${b.deviceId}`)).status).toBe(200);
    for (const guess of ['A'.repeat(21), ub.slice(-21, -1) + (ub.endsWith('x') ? 'y' : 'x'), b.deviceId, '..%2F..']) {
      expect((await fetch(`${server.url}/fw/p/${guess}`)).status, guess).toBe(404);
    }
    const head = await fetch(ua, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(`"${fw['2'].sha256}"`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await targetOf(answer.body.pushId, a.deviceId)).status).toBe('sent');

    const ranged = await fetch(ua, { headers: { range: 'bytes=0-2' } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe('two');
    await statusBecomes(answer.body.pushId, a.deviceId, 'downloading');
    expect((await targetOf(answer.body.pushId, b.deviceId)).status).toBe('sent');
  });
});

/**
 * A device that handles one message per `recv`, reading 300 ms after it sent its heartbeat, as
 * mcsjs and mcs.c do: whatever arrived by then is one read.
 */
async function readsAfterHeartbeat(device: Device, whileWaiting: () => Promise<unknown> = async () => {}) {
  const socket = await TcpDevice.connect(server.app.tcp()!.port());
  sockets.push(socket);
  socket.socket.pause();
  const heartbeat = `${device.deviceId},${device.deviceKey},0`;
  socket.send(heartbeat);
  await whileWaiting();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const first = await recv(socket);
  socket.socket.resume();
  return { socket, heartbeat, first };
}

/**
 * One blocking `recv` on a paused socket: what has arrived, or, when nothing has yet (a loaded
 * server may echo later than 300 ms), the first bytes to arrive and whatever came with them.
 */
async function recv(socket: TcpDevice): Promise<string> {
  for (;;) {
    const chunk = socket.socket.read() as Buffer | null;
    if (chunk !== null) return chunk.toString('latin1');
    await new Promise((resolve) => socket.socket.once('readable', resolve));
  }
}

describe('two messages to one TCP device are never read as one', () => {
  it('a queued push arrives apart from the echo, 20 times of 20', async () => {
    const devices = await Promise.all(Array.from({ length: 20 }, (_, i) => newDevice(`queued ${i}`, '1')));
    const answer = await push(
      fw['2'],
      devices.map((d) => d.deviceId),
      { queueOffline: true },
    );
    const reads = await Promise.all(devices.map((device) => readsAfterHeartbeat(device)));
    for (const { socket, heartbeat, first } of reads) {
      expect(first).toBe(heartbeat);
      const text = await socket.waitFor(',FOTA,2,');
      expect(text.slice(heartbeat.length)).toMatch(new RegExp(`^${heartbeat.slice(0, -2)},\\d{13},FOTA,2,`));
    }
    expect((await server.api<any>('GET', `/pushes/${answer.body.pushId}`)).body.counts.queued).toBe(0);
  });

  it('a push to devices already online arrives apart from an echo sent just before, 20 times of 20', async () => {
    const devices = await Promise.all(Array.from({ length: 20 }, (_, i) => newDevice(`online ${i}`, '1')));
    const sessions = await Promise.all(devices.map((device) => online(device)));
    await Promise.all(sessions.map((socket) => socket.waitFor(',0')));
    // Past the write gap since those echoes: the next echo goes out at once.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // Each device heartbeats again, and the push lands a few ms after the echoes.
    const reads = await Promise.all(
      devices.map((device, i) => {
        const socket = sessions[i]!;
        const heartbeat = `${device.deviceId},${device.deviceKey},0`;
        const seen = socket.text().length;
        socket.socket.pause();
        socket.send(heartbeat);
        return { socket, heartbeat, seen };
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    await push(
      fw['2'],
      devices.map((d) => d.deviceId),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Every device reads at once, 300 ms after its heartbeat.
    const firsts = await Promise.all(reads.map(({ socket }) => recv(socket)));
    for (const [i, { socket, heartbeat }] of reads.entries()) {
      socket.socket.resume();
      expect(firsts[i], socket.text()).toBe(heartbeat);
      expect(await socket.waitFor(',FOTA,2,')).toMatch(
        new RegExp(`${heartbeat}${heartbeat.slice(0, -2)},\\d{13},FOTA,2,`),
      );
    }
  });
});

describe('key rotation', () => {
  it('closes the live TCP session that proved the old key', async () => {
    const device = await newDevice('rotated', '1');
    const socket = await online(device);
    const rotated = await server.api<any>('POST', `/devices/${device.deviceId}/key`);
    expect(rotated.status).toBe(200);
    await eventually(
      async () => socket.isClosed(),
      (closed) => closed,
    );
    const again = await TcpDevice.connect(server.app.tcp()!.port());
    sockets.push(again);
    again.send(`${device.deviceId},${device.deviceKey},0`);
    await eventually(
      async () => again.isClosed(),
      (closed) => closed,
    );
    expect((await server.api<any>('GET', `/devices/${device.deviceId}`)).body.presence.online).toBe(false);
  });
});
