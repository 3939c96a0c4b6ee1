import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/data-dir.js';
import { connectOverTcp, reportVersion } from '../support/devices.js';
import { startFota, stopAllFota, type Run, type Started } from '../support/fota-cli.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

/** `fota push` as a user runs it, against a real server with real devices connected over TCP. */

interface Device {
  readonly deviceId: string;
  readonly deviceKey: string;
}

/** A line of the push table: the device id first, then its status and reason. */
const row = (deviceId: string, status: string, reason = '') =>
  new RegExp(`^${deviceId}\\s+${status}\\s+${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm');

// Every `fota` run is a new Node process: give them time on a loaded machine.
describe('fota push', { timeout: 180_000 }, () => {
  let server: TestServer;
  const sockets: TcpDevice[] = [];
  let startCli: (...args: string[]) => Started;
  let cli: (...args: string[]) => Promise<Run>;

  beforeAll(async () => {
    server = await startServer();
    startCli = (...args) => startFota(args, { FOTA_URL: server.url, FOTA_TOKEN: server.token });
    cli = (...args) => startCli(...args).result;
  });

  afterAll(async () => {
    stopAllFota();
    for (const socket of sockets) socket.close();
    await server?.stop();
  });

  /** A prototype with one firmware any device may take. */
  async function newFirmware(version: string): Promise<{ prototypeId: string; fwId: string }> {
    const prototypeId = (await server.api<any>('POST', '/prototypes', { name: `push ${version}` })).body.prototypeId;
    const firmware = await uploadFirmware(server, prototypeId, { name: 'lamp', version }, `firmware ${version}`);
    expect(firmware.status).toBe(201);
    return { prototypeId, fwId: firmware.body.fwId };
  }

  async function newDevice(prototypeId: string, name: string): Promise<Device> {
    return (await server.api<any>('POST', `/prototypes/${prototypeId}/devices`, { name })).body as Device;
  }

  async function online(device: Device): Promise<TcpDevice> {
    const socket = await connectOverTcp(server, device);
    sockets.push(socket);
    return socket;
  }

  /** What a device does after flashing: report the version it now runs. */
  async function report(device: Device, version: string): Promise<void> {
    expect(await reportVersion(server, device, version)).toBe(200);
  }

  it('pushes to an online and an offline device and prints the push, readable or as JSON', async () => {
    const { prototypeId, fwId } = await newFirmware('1.1');
    const up = await newDevice(prototypeId, 'up');
    const down = await newDevice(prototypeId, 'down');
    const socket = await online(up);

    const readable = await cli('push', fwId, up.deviceId, down.deviceId);
    expect(readable.stderr).toBe('');
    expect(readable.code).toBe(0);
    const pushId = /^Push (U[A-Za-z0-9]{11}): firmware (\S+) version 1\.1 to 2 devices, pending$/m.exec(
      readable.stdout,
    );
    expect(pushId?.[2]).toBe(fwId);
    const lines = readable.stdout.split('\n');
    expect(lines[1]).toMatch(/^DEVICE ID\s+STATUS\s+REASON$/);
    // The commands go out in the background: by the time the table is read, sent or about to be.
    expect(readable.stdout).toMatch(row(up.deviceId, '(?:queued\\s+sending over tcp|sent\\s+over tcp)'));
    expect(readable.stdout).toMatch(row(down.deviceId, 'offline', 'the device is not connected'));
    expect(readable.stdout).toContain('Counts: queued 1, offline 1');
    await socket.waitFor(`,FOTA,1.1,`);

    const stored = await server.api<any>('GET', `/pushes/${pushId?.[1]}`);
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ status: 'in_progress', counts: { sent: 1, offline: 1 } });

    const json = await cli('push', fwId, up.deviceId, down.deviceId, '--json');
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const push = JSON.parse(json.stdout);
    expect(push).toMatchObject({
      pushId: expect.stringMatching(/^U[A-Za-z0-9]{11}$/),
      fwId,
      prototypeId,
      version: '1.1',
      force: false,
      queueOffline: false,
      selection: 'ids',
      total: 2,
      counts: expect.objectContaining({ queued: 1, offline: 1 }),
    });
    expect(push.pushId).not.toBe(pushId?.[1]);
  });

  it('queues offline devices with --queue-offline', async () => {
    const { prototypeId, fwId } = await newFirmware('1.2');
    const sleeper = await newDevice(prototypeId, 'sleeper');
    const run = await cli('push', fwId, sleeper.deviceId, '--queue-offline');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(row(sleeper.deviceId, 'queued', 'waiting for the device to connect'));
    expect(run.stdout).toContain('Counts: queued 1');
  });

  it('--all-online pushes to the devices of the prototype that are online, and only to them', async () => {
    const { prototypeId, fwId } = await newFirmware('2.0');
    const first = await newDevice(prototypeId, 'first');
    const asleep = await newDevice(prototypeId, 'asleep');
    const second = await newDevice(prototypeId, 'second');
    await online(first);
    await online(second);

    const run = await cli('push', fwId, '--all-online', '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const push = JSON.parse(run.stdout);
    expect(push).toMatchObject({ selection: 'online', total: 2, counts: { queued: 2, offline: 0 } });
    const page = await server.api<any>('GET', `/pushes/${push.pushId}/targets`);
    expect(page.body.targets.map((target: any) => target.deviceId).sort()).toEqual(
      [first.deviceId, second.deviceId].sort(),
    );

    // --all names every device of the prototype; the offline one is answered offline.
    const all = await cli('push', fwId, '--all');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(row(asleep.deviceId, 'offline'));
    expect(all.stdout).toMatch(row(first.deviceId, '(?:queued|sent)'));
    expect(all.stdout).toMatch(row(second.deviceId, '(?:queued|sent)'));

    const both = await cli('push', fwId, asleep.deviceId, '--all-online');
    expect(both.code).toBe(1);
    expect(both.stderr).toBe('fota: name the devices or pass --all-online, not both\n');
  });

  it('--all-online says so and exits 1 when no device is online', async () => {
    const { prototypeId, fwId } = await newFirmware('2.1');
    await newDevice(prototypeId, 'nobody home');
    const run = await cli('push', fwId, '--all-online');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`fota: prototype ${prototypeId} has no connected device (invalid_input, HTTP 400)`);
    expect((await server.api<any[]>('GET', `/firmwares/${fwId}/pushes`)).body).toEqual([]);
  });

  it('--wait follows the push until the device reports the version, and exits 0', async () => {
    const { prototypeId, fwId } = await newFirmware('3.0');
    const device = await newDevice(prototypeId, 'upgrades');
    const socket = await online(device);

    const waiting = startCli('push', fwId, device.deviceId, '--wait');
    // The device gets the FOTA line, flashes, and reports what it now runs once fota follows the
    // push live: the upgrade reaches it as an event of the stream.
    await socket.waitFor(`,FOTA,3.0,`, 60_000);
    await eventually(
      async () => waiting.stderr(),
      (text) => /^Following push U[A-Za-z0-9]{11} live$/m.test(text),
      60_000,
    );
    await report(device, '3.0');
    const run = await waiting.result;

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(row(device.deviceId, '(?:queued|sent)'));
    expect(run.stdout).toMatch(/^Push U[A-Za-z0-9]{11} finished: firmware .*, finished$/m);
    expect(run.stdout).toMatch(row(device.deviceId, 'upgraded', 'reported version 3.0'));
    expect(run.stdout).toContain('Counts: upgraded 1');
    expect(run.stdout).toContain('The device upgraded to 3.0.');
    // Without a terminal: what it waits for, then one line per status change, on stderr.
    expect(run.stderr).toMatch(/^Waiting up to 600 s for the device of push U[A-Za-z0-9]{11}$/m);
    expect(run.stderr).toMatch(row(device.deviceId, 'upgraded', 'reported version 3.0'));
  });

  it('--wait exits 1 naming the device that reported another version, and --json prints the final push', async () => {
    const { prototypeId, fwId } = await newFirmware('4.0');
    // Devices may only report versions uploaded for their prototype.
    expect((await uploadFirmware(server, prototypeId, { name: 'lamp', version: '3.9' }, 'older')).status).toBe(201);
    const good = await newDevice(prototypeId, 'good');
    const bad = await newDevice(prototypeId, 'bad');
    const goodSocket = await online(good);
    const badSocket = await online(bad);

    // The devices report as soon as they can, maybe before fota follows the push: it re-reads the push
    // when its event stream opens, so it misses nothing.
    const waiting = cli('push', fwId, good.deviceId, bad.deviceId, '--wait', '--json');
    await goodSocket.waitFor(`,FOTA,4.0,`, 60_000);
    await badSocket.waitFor(`,FOTA,4.0,`, 60_000);
    await report(good, '4.0');
    await report(bad, '3.9');
    const run = await waiting;

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `fota: 1 of 2 devices did not upgrade to 4.0: ${bad.deviceId} failed (reported version 3.9 instead of 4.0)\n`,
    );
    expect(run.stderr).not.toContain(`${good.deviceId} failed`);
    const push = JSON.parse(run.stdout);
    expect(push).toMatchObject({ status: 'finished', counts: { upgraded: 1, failed: 1 } });
    expect(push).toEqual((await server.api('GET', `/pushes/${push.pushId}`)).body);
  });

  it('--wait exits 1 at once when a device is offline, and lists what is pending at --timeout', async () => {
    const { prototypeId, fwId } = await newFirmware('5.0');
    const away = await newDevice(prototypeId, 'away');
    const offline = await cli('push', fwId, away.deviceId, '--wait');
    expect(offline.code).toBe(1);
    expect(offline.stdout).toMatch(row(away.deviceId, 'offline'));
    expect(offline.stderr).toContain(
      `fota: the device did not upgrade to 5.0: ${away.deviceId} offline (the device is not connected)`,
    );

    const silent = await newDevice(prototypeId, 'silent');
    await online(silent);
    const run = await cli('push', fwId, silent.deviceId, '--wait', '--timeout', '1');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `timed out after 1 s with the device still pending: ${silent.deviceId} sent (over tcp)`,
    );
    expect(run.stdout).toMatch(row(silent.deviceId, 'sent'));
  });

  it('needs device ids, --all-online or --all', async () => {
    const run = await cli('push', 'F00000000000');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'fota: name the devices to push F00000000000 to (fota push F00000000000 <deviceId...>), or pass --all-online or --all for the devices of its prototype\n',
    );
  });

  it('reports an unknown firmware with the API message, code and status', async () => {
    const [named, allOnline] = await Promise.all([
      cli('push', 'F00000000000', 'D0000000'),
      cli('push', 'F00000000000', '--all-online', '--wait'),
    ]);
    for (const run of [named, allOnline]) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe('fota: no firmware F00000000000 (not_found, HTTP 404)\n');
    }
  });

  it('explains itself with examples', async () => {
    const run = await cli('push', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: fota push [options] <fwId> [deviceIds...]');
    expect(run.stdout).toContain('$ fota push FKgaAQDiAk3h D1UoYvqt D7rTq2Lm');
    expect(run.stdout).toContain('$ fota push FKgaAQDiAk3h --all-online --wait');
  });
});
