import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApiCommands } from '../../src/cli/api-commands.js';
import { registerSimulateCommand } from '../../src/cli/simulate-command.js';
import { eventually } from '../support/data-dir.js';
import { connectOverTcp, reportVersion } from '../support/devices.js';
import { runFota, startFota, stopAllFota, type Run } from '../support/fota-cli.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';
import type { TcpDevice } from '../support/tcp-device.js';

/**
 * The management commands beyond create and list, as a user runs them against the real server:
 * show, edit, delete, key rotation, push status and history, server info, live events, and what
 * a usage error looks like.
 */

interface Device {
  readonly deviceId: string;
  readonly deviceKey: string;
}

// Every `fota` run is a new Node process that compiles TypeScript through tsx: give them time.
describe('fota management commands', { timeout: 180_000 }, () => {
  let server: TestServer;
  let cli: (...args: string[]) => Promise<Run>;
  let cliJson: <T = any>(...args: string[]) => Promise<T>;
  const sockets: TcpDevice[] = [];

  beforeAll(async () => {
    server = await startServer();
    cli = (...args) => runFota(args, { FOTA_URL: server.url, FOTA_TOKEN: server.token });
    cliJson = async (...args) => {
      const run = await cli(...args, '--json');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      return JSON.parse(run.stdout);
    };
  });

  afterAll(async () => {
    stopAllFota();
    for (const socket of sockets) socket.close();
    await server?.stop();
  });

  const newPrototype = async (name: string): Promise<string> =>
    (await server.api<{ prototypeId: string }>('POST', '/prototypes', { name })).body.prototypeId;
  const newDevice = async (prototypeId: string, name: string): Promise<Device> =>
    (await server.api<Device>('POST', `/prototypes/${prototypeId}/devices`, { name })).body;
  const newFirmware = async (prototypeId: string, version: string, prerequisites = 'all'): Promise<string> =>
    (await uploadFirmware(server, prototypeId, { name: 'Lamp', version, prerequisites }, `firmware ${version}`)).body
      .fwId;

  /** One line on stderr, nothing on stdout, exit status 2. */
  const expectUsageError = (run: Run, line: string) => {
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`${line}\n`);
    expect(run.code).toBe(2);
  };

  describe('prototypes', () => {
    it('shows and edits a prototype, readable and as the exact API answer', async () => {
      const prototypeId = await newPrototype('Lamp');
      const [readable, json] = await Promise.all([
        cli('prototypes', 'show', prototypeId),
        cliJson('prototypes', 'show', prototypeId),
      ]);
      expect(readable.code).toBe(0);
      expect(readable.stdout).toMatch(new RegExp(`^Prototype ${prototypeId}\\n  prototypeId +${prototypeId}\\n`));
      expect(json).toEqual((await server.api('GET', `/prototypes/${prototypeId}`)).body);

      const edited = await cliJson(
        'prototypes',
        'edit',
        prototypeId,
        '--name',
        'Lamp v2',
        '--description',
        'hall B',
        '--version-policy',
        'increasing',
      );
      expect(edited).toMatchObject({
        prototypeId,
        name: 'Lamp v2',
        description: 'hall B',
        versionPolicy: 'increasing',
      });
      const cleared = await cli('prototypes', 'edit', prototypeId, '--description', '');
      expect(cleared.code).toBe(0);
      expect(cleared.stdout).toMatch(/^Changed prototype P\w+\n/);
      expect((await server.api<any>('GET', `/prototypes/${prototypeId}`)).body).toMatchObject({
        name: 'Lamp v2',
        description: '',
        versionPolicy: 'increasing',
      });
    });

    it('refuses an edit without a change, as a usage error', async () => {
      const prototypeId = await newPrototype('Unchanged');
      expectUsageError(
        await cli('prototypes', 'edit', prototypeId),
        'fota: nothing to change: pass --name, --description or --version-policy; run fota prototypes edit --help',
      );
    });

    it('keeps a prototype in use unless --force, which deletes its devices and firmwares too', async () => {
      const prototypeId = await newPrototype('Doomed');
      const device = await newDevice(prototypeId, 'lamp');
      const fwId = await newFirmware(prototypeId, '1.0');

      const kept = await cli('prototypes', 'delete', prototypeId);
      expect(kept.code).toBe(1);
      expect(kept.stdout).toBe('');
      expect(kept.stderr).toBe(
        `fota: prototype ${prototypeId} still has 1 device(s) and 1 firmware(s); delete them first or use force (in_use, HTTP 409)\n`,
      );
      expect((await server.api('GET', `/prototypes/${prototypeId}`)).status).toBe(200);

      const forced = await cli('prototypes', 'delete', prototypeId, '--force');
      expect(forced.code).toBe(0);
      expect(forced.stdout).toBe(`Deleted prototype ${prototypeId} with its devices, firmwares and pushes\n`);
      for (const path of [`/prototypes/${prototypeId}`, `/devices/${device.deviceId}`, `/firmwares/${fwId}`]) {
        expect((await server.api('GET', path)).status).toBe(404);
      }

      const empty = await newPrototype('Empty');
      const json = await cli('prototypes', 'delete', empty, '--json');
      expect(json).toEqual({ code: 0, stdout: '', stderr: '' });
      expect((await server.api('GET', `/prototypes/${empty}`)).status).toBe(404);
    });
  });

  describe('devices', () => {
    it('shows whether each device is online, in the list and in show', async () => {
      const prototypeId = await newPrototype('Presence');
      const online = await newDevice(prototypeId, 'connected');
      const offline = await newDevice(prototypeId, 'asleep');
      sockets.push(await connectOverTcp(server, online));

      const [table, shown, json] = await Promise.all([
        cli('devices', 'list', prototypeId),
        cli('devices', 'show', online.deviceId),
        cliJson('devices', 'show', online.deviceId),
      ]);
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^DEVICE ID\s+DEVICE KEY\s+NAME\s+ONLINE\s+FIRMWARE\s+CREATED$/);
      expect(lines).toContainEqual(
        expect.stringMatching(new RegExp(`^${online.deviceId}\\s+\\w+\\s+connected\\s+yes \\(tcp\\)\\s`)),
      );
      expect(lines).toContainEqual(
        expect.stringMatching(new RegExp(`^${offline.deviceId}\\s+\\w+\\s+asleep\\s+no\\s`)),
      );
      expect(shown.stdout).toMatch(/online +yes \(tcp\)\n/);
      expect(shown.stdout).toMatch(/online since +\d{4}-\d\d-\d\dT[\d:]+Z\n/);
      expect(json.presence).toMatchObject({ online: true, protocol: 'tcp' });
    });

    it('edits a device and rotates its key: the old key stops working, the new one works', async () => {
      const prototypeId = await newPrototype('Keys');
      await newFirmware(prototypeId, '1.0');
      const device = await newDevice(prototypeId, 'bench-01');

      const edited = await cliJson('devices', 'edit', device.deviceId, '--name', 'bench-02', '--description', 'rack 3');
      expect(edited).toMatchObject({ deviceId: device.deviceId, name: 'bench-02', description: 'rack 3' });
      expect(edited.deviceKey).toBe(device.deviceKey);

      const rotated = await cli('devices', 'rotate-key', device.deviceId);
      expect(rotated.code).toBe(0);
      const newKey = new RegExp(`^New key for device ${device.deviceId}: ([A-Za-z0-9]{16})$`, 'm').exec(
        rotated.stdout,
      )?.[1];
      expect(newKey).toBeDefined();
      expect(newKey).not.toBe(device.deviceKey);
      expect(await reportVersion(server, device, '1.0')).toBe(401);
      expect(await reportVersion(server, { deviceId: device.deviceId, deviceKey: newKey! }, '1.0')).toBe(200);

      const again = await cliJson('devices', 'rotate-key', device.deviceId);
      expect(again.deviceKey).toMatch(/^[A-Za-z0-9]{16}$/);
      expect(again.deviceKey).not.toBe(newKey);
      expect(again).toEqual((await server.api('GET', `/devices/${device.deviceId}`)).body);
    });

    it('deletes a device: it is gone and its key no longer works', async () => {
      const prototypeId = await newPrototype('Delete devices');
      await newFirmware(prototypeId, '1.0');
      const device = await newDevice(prototypeId, 'gone');
      const run = await cli('devices', 'delete', device.deviceId);
      expect(run).toEqual({ code: 0, stdout: `Deleted device ${device.deviceId}\n`, stderr: '' });
      expect((await server.api('GET', `/devices/${device.deviceId}`)).status).toBe(404);
      expect(await reportVersion(server, device, '1.0')).not.toBe(200);

      const missing = await cli('devices', 'delete', device.deviceId);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(`fota: no device ${device.deviceId} (not_found, HTTP 404)\n`);
    });
  });

  describe('firmware', () => {
    it('shows and edits a firmware, and keeps one in use unless --force', async () => {
      const prototypeId = await newPrototype('Firmware edits');
      const first = await newFirmware(prototypeId, '1.0');
      const second = await newFirmware(prototypeId, '1.1', first);

      const shown = await cliJson('firmware', 'show', second);
      expect(shown).toEqual((await server.api('GET', `/firmwares/${second}`)).body);
      const readable = await cli('firmware', 'show', second);
      expect(readable.stdout).toMatch(new RegExp(`^Firmware ${second}\\n`));
      expect(readable.stdout).toMatch(new RegExp(`prerequisites +${first}\\n`));

      const edited = await cliJson(
        'firmware',
        'edit',
        second,
        '--release-note',
        'Dimmer fix',
        '--prerequisites',
        'all',
      );
      expect(edited).toMatchObject({ fwId: second, releaseNote: 'Dimmer fix', prerequisites: 'all', version: '1.1' });
      const back = await cliJson('firmware', 'edit', second, '--prerequisites', first, '--name', 'Lamp B');
      expect(back).toMatchObject({ name: 'Lamp B', prerequisites: [first] });

      const kept = await cli('firmware', 'delete', first);
      expect(kept.code).toBe(1);
      expect(kept.stderr).toMatch(/^fota: firmware F\w+ is in use: .+ \(in_use, HTTP 409\)\n$/);
      expect((await server.api('GET', `/firmwares/${first}`)).status).toBe(200);

      const forced = await cli('firmware', 'delete', first, '--force');
      expect(forced).toEqual({ code: 0, stdout: `Deleted firmware ${first}\n`, stderr: '' });
      expect((await server.api('GET', `/firmwares/${first}`)).status).toBe(404);
      expect((await fetch(`${server.url}/fw/${first}`)).status).toBe(404);
      expect((await server.api<any>('GET', `/firmwares/${second}`)).body.prerequisites).toEqual([]);
    });

    it('checks --prerequisites before sending anything', async () => {
      const prototypeId = await newPrototype('Bad prerequisites');
      const fwId = await newFirmware(prototypeId, '1.0');
      const run = await cli('firmware', 'edit', fwId, '--prerequisites', 'F1');
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^fota: option '--prerequisites <all\|fwIds>' argument 'F1' is invalid\. .+; run fota firmware edit --help\n$/,
      );
    });
  });

  describe('pushes', () => {
    it("shows a push with each device's status, and lists a firmware's pushes and a device's history", async () => {
      const prototypeId = await newPrototype('Pushes');
      const fwId = await newFirmware(prototypeId, '2.0');
      const online = await newDevice(prototypeId, 'online');
      const offline = await newDevice(prototypeId, 'offline');
      sockets.push(await connectOverTcp(server, online));
      const push = (
        await server.api<any>('POST', `/firmwares/${fwId}/push`, {
          deviceIds: [online.deviceId, offline.deviceId],
        })
      ).body;
      // The command goes out in the background: wait until the online device's part is sent.
      await eventually(
        () => server.api<any>('GET', `/pushes/${push.pushId}`),
        (answer) => answer.body.counts.sent === 1,
      );

      const [shown, json, byFirmware, byDevice, byDeviceJson, page, pageJson] = await Promise.all([
        cli('pushes', 'show', push.pushId),
        cliJson('pushes', 'show', push.pushId),
        cli('pushes', 'list', '--firmware', fwId),
        cli('pushes', 'list', '--device', offline.deviceId),
        cliJson('pushes', 'list', '--device', offline.deviceId),
        cli('pushes', 'targets', push.pushId, '--status', 'offline'),
        cliJson('pushes', 'targets', push.pushId, '--limit', '1'),
      ]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`^Push ${push.pushId}\\n  firmware +${fwId} version 2\\.0\\n`));
      expect(shown.stdout).toMatch(/status +in progress\n {2}devices +2\n {2}counts +sent 1, offline 1\n/);
      expect(shown.stdout).toMatch(/^DEVICE ID\s+STATUS\s+REASON\s+UPDATED$/m);
      expect(shown.stdout).toMatch(new RegExp(`^${online.deviceId}\\s+sent\\s+`, 'm'));
      expect(shown.stdout).toMatch(
        new RegExp(`^${offline.deviceId}\\s+offline\\s+the device is not connected\\s`, 'm'),
      );
      expect(json).toEqual((await server.api('GET', `/pushes/${push.pushId}`)).body);

      expect(byFirmware.stdout).toMatch(/^PUSH ID\s+VERSION\s+DEVICES\s+STATUS\s+COUNTS\s+CREATED\n/);
      expect(byFirmware.stdout).toMatch(
        new RegExp(`^${push.pushId}\\s+2\\.0\\s+2\\s+in progress\\s+sent 1, offline 1\\s`, 'm'),
      );
      expect(byDevice.stdout).toMatch(/^PUSH ID\s+FIRMWARE\s+VERSION\s+STATUS\s+REASON\s+CREATED\n/);
      expect(byDevice.stdout).toMatch(
        new RegExp(`^${push.pushId}\\s+${fwId}\\s+2\\.0\\s+offline\\s+the device is not connected\\s`, 'm'),
      );
      expect(byDeviceJson).toEqual((await server.api('GET', `/devices/${offline.deviceId}/pushes`)).body);

      expect(page.code).toBe(0);
      expect(page.stdout).toMatch(new RegExp(`^${offline.deviceId}\\s+offline\\s+the device is not connected\\s`, 'm'));
      expect(page.stdout).not.toContain(online.deviceId);
      const first = [online.deviceId, offline.deviceId].sort()[0];
      expect(pageJson).toEqual({
        targets: [expect.objectContaining({ deviceId: first })],
        nextCursor: first,
      });
    });

    it('refuses a bad page of targets as a usage error', async () => {
      const [status, limit] = await Promise.all([
        cli('pushes', 'targets', 'U00000000000', '--status', 'lost'),
        cli('pushes', 'targets', 'U00000000000', '--limit', '501'),
      ]);
      expect(status.code).toBe(2);
      expect(status.stderr).toContain("argument 'lost' is invalid");
      expect(limit.code).toBe(2);
      expect(limit.stderr).toContain('a whole number from 1 to 500');
    });

    it('needs exactly one of --firmware and --device', async () => {
      const line = 'fota: give exactly one of --firmware <fwId> and --device <deviceId>; run fota pushes list --help';
      const [none, both, wrong] = await Promise.all([
        cli('pushes', 'list'),
        cli('pushes', 'list', '--firmware', 'F00000000000', '--device', 'D0000000'),
        cli('pushes', 'list', '--device', 'F00000000000'),
      ]);
      expectUsageError(none, line);
      expectUsageError(both, line);
      expectUsageError(
        wrong,
        "fota: option '--device <deviceId>' argument 'F00000000000' is invalid. a deviceId starts with D followed by letters or digits; run fota pushes list --help",
      );
    });
  });

  describe('the server', () => {
    it('info names the HTTP, TCP and MQTT addresses devices use', async () => {
      const tcpPort = server.app.tcp()!.port();
      const mqttPort = server.app.mqtt()!.port();
      const json = await cliJson('info');
      expect(json).toEqual({
        version: expect.any(String),
        publicUrl: server.url,
        tcp: { host: '127.0.0.1', port: tcpPort },
        mqtt: { host: '127.0.0.1', port: mqttPort },
      });
      const readable = await cli('info');
      expect(readable.stdout).toContain(`TCP command server     127.0.0.1:${tcpPort}\n`);
      expect(readable.stdout).toContain(`MQTT broker            mqtt://127.0.0.1:${mqttPort}\n`);
    });

    it('events prints each live event, as JSON lines with --json, until Ctrl-C', async () => {
      const prototypeId = await newPrototype('Events');
      const device = await newDevice(prototypeId, 'watched');
      const events = startFota(['events', '--json'], { FOTA_URL: server.url, FOTA_TOKEN: server.token });
      // The server streams what happens once the stream is open: connect only then.
      await eventually(
        async () => events.stderr(),
        (stderr) => stderr.includes('Following the events of'),
        60_000,
      );
      sockets.push(await connectOverTcp(server, device));
      await eventually(
        async () => events.stdout(),
        (stdout) => stdout.includes(device.deviceId),
        30_000,
      );
      events.process.kill('SIGINT');
      const { code, stdout, stderr } = await events.result;
      expect(code).toBe(0);
      expect(stderr).toBe(`Following the events of ${server.url}; Ctrl-C to stop\n`);
      const lines = stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines).toContainEqual({
        event: 'device.online',
        data: {
          type: 'device.online',
          deviceId: device.deviceId,
          prototypeId,
          protocol: 'tcp',
          at: expect.any(String),
        },
      });
    });
  });

  describe('usage errors', () => {
    it('are one line with a hint and exit status 2, not the whole help', async () => {
      const runs = await Promise.all([
        cli('lamps'),
        cli('protoypes', 'list'),
        cli('devices', 'show'),
        cli('devices', 'list', 'P00000000000', '--colour'),
        cli('firmware', 'delete', 'F1', 'F2'),
        cli('pushes', 'frobnicate'),
      ]);
      const lines = [
        "fota: unknown command 'lamps'; run fota --help",
        "fota: unknown command 'protoypes' (did you mean prototypes?); run fota --help",
        "fota: missing required argument 'deviceId'; run fota devices show --help",
        "fota: unknown option '--colour'; run fota devices list --help",
        "fota: too many arguments for 'delete'. Expected 1 argument but got 2; run fota firmware delete --help",
        "fota: unknown command 'frobnicate'; run fota pushes --help",
      ];
      runs.forEach((run, index) => expectUsageError(run, lines[index]!));
    });

    it('leave --help and --version on stdout with exit status 0', async () => {
      const [help, version] = await Promise.all([cli('pushes', 'show', '--help'), cli('--version')]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: fota pushes show [options] <pushId>');
      expect(version.code).toBe(0);
      expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    });
  });

  it('has a command for every management route, as the table in docs/cli.md maps them', async () => {
    const openapi = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(openapi.paths)
      // The console's sign-in has no command: the CLI authenticates with tokens.
      .filter(([path]) => path.startsWith('/api/v1/') && path !== '/api/v1/session')
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      )
      .sort();
    const docs = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    const table = new Map(
      [...docs.matchAll(/^\| `((?:GET|POST|PATCH|DELETE) \/api\/v1\/[^`]*)` +\| `fota ([^`]+)`/gm)].map((match) => [
        match[1]!,
        match[2]!,
      ]),
    );
    expect([...table.keys()].sort()).toEqual(routes);

    // Each command named there exists, with the arguments it is shown with.
    const program = new Command('fota');
    registerApiCommands(program);
    registerSimulateCommand(program);
    for (const command of table.values()) {
      const words = command.split(' ').filter((word) => !word.startsWith('<') && !word.startsWith('['));
      let at: Command | undefined = program;
      for (const word of words.filter((word) => !word.startsWith('-'))) {
        at = at?.commands.find((sub) => sub.name() === word || sub.aliases().includes(word));
      }
      expect(at, command).toBeDefined();
      for (const flag of words.filter((word) => word.startsWith('--'))) {
        expect(
          at!.options.some((option) => option.long === flag),
          `${command}: ${flag}`,
        ).toBe(true);
      }
    }
  });
});
