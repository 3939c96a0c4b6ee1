import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServer, type TestServer } from '../support/server.js';

/** The `fota` command as a user runs it: a child process from the repository root. */

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const repoRoot = new URL('../..', import.meta.url);

/** Runs `fota …` with the environment given and nothing of this process's FOTA_* variables. */
function fota(args: readonly string[], env: Record<string, string>): Promise<Run> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FOTA_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/fota.js', ...args], {
      cwd: repoRoot,
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const digest = (algorithm: 'md5' | 'sha256', content: Buffer): string =>
  createHash(algorithm).update(content).digest('hex');

// Every `fota` run is a new Node process that compiles TypeScript through tsx: give them time.
describe('fota CLI over the management API', { timeout: 180_000 }, () => {
  let server: TestServer;
  let files: string;
  /** `fota …` against the test server, with FOTA_URL and FOTA_TOKEN set. */
  let cli: (...args: string[]) => Promise<Run>;
  /** `fota … --json`, expected to succeed, with its stdout parsed. */
  let cliJson: <T = any>(...args: string[]) => Promise<T>;

  beforeAll(async () => {
    server = await startServer();
    files = await mkdtemp(join(tmpdir(), 'fota-cli-'));
    cli = (...args) => fota(args, { FOTA_URL: server.url, FOTA_TOKEN: server.token });
    cliJson = async (...args) => {
      const run = await cli(...args, '--json');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      return JSON.parse(run.stdout);
    };
  });

  afterAll(async () => {
    await server?.stop();
    if (files) await rm(files, { recursive: true, force: true });
  });

  /** A prototype made through the API directly: setup, not what a test is about. */
  const newPrototype = async (name: string): Promise<string> =>
    (await server.api<{ prototypeId: string }>('POST', '/prototypes', { name })).body.prototypeId;

  const firmwareFile = async (name: string, content: Buffer): Promise<string> => {
    const path = join(files, name);
    await writeFile(path, content);
    return path;
  };

  describe('prototypes', () => {
    it('creates a prototype and prints its id and fields, readable or as the JSON answer', async () => {
      const readable = await cli('prototypes', 'create', 'Smart lamp', '--description', 'Desk lamp, hall B');
      expect(readable.code).toBe(0);
      expect(readable.stderr).toBe('');
      const id = /^Created prototype (P[A-Za-z0-9]{11})$/m.exec(readable.stdout)?.[1];
      expect(id).toBeDefined();
      expect(readable.stdout).toContain('Desk lamp, hall B');
      expect(readable.stdout).toMatch(/version policy\s+any/);

      const created = await cliJson(
        'prototypes',
        'create',
        'LinkIt sensor',
        '--version-policy',
        'increasing',
        '--description',
        'Runs on 7681',
      );
      expect(created).toMatchObject({
        prototypeId: expect.stringMatching(/^P[A-Za-z0-9]{11}$/),
        name: 'LinkIt sensor',
        description: 'Runs on 7681',
        versionPolicy: 'increasing',
        createdAt: expect.any(String),
      });

      const { body: stored } = await server.api<any>('GET', `/prototypes/${id}`);
      expect(stored).toMatchObject({ name: 'Smart lamp', description: 'Desk lamp, hall B', versionPolicy: 'any' });
    });

    it('lists prototypes as a table with ids first, and as the JSON answer', async () => {
      const first = await newPrototype('Listed one');
      const second = await newPrototype('Listed two');

      const listed = await cliJson<Array<{ prototypeId: string; name: string }>>('prototypes', 'list');
      const { body: fromApi } = await server.api('GET', '/prototypes');
      expect(listed).toEqual(fromApi);
      expect(listed.map((prototype) => prototype.prototypeId)).toEqual(expect.arrayContaining([first, second]));

      const table = await cli('prototypes', 'list');
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^PROTOTYPE ID\s+NAME\s+VERSION POLICY\s+CREATED$/);
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${first}\\s+Listed one\\s+any\\s+`)));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${second}\\s+Listed two\\s+any\\s+`)));
    });

    it('refuses a version policy it does not know before calling the API', async () => {
      const run = await cli('prototypes', 'create', 'Odd', '--version-policy', 'sometimes');
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(
        "fota: option '--version-policy <policy>' argument 'sometimes' is invalid. Allowed choices are any, increasing; run fota prototypes create --help\n",
      );
    });
  });

  describe('devices', () => {
    it('creates devices, printing the deviceId and deviceKey, and lists them', async () => {
      const prototypeId = await newPrototype('Devices');

      const readable = await cli('devices', 'create', prototypeId, 'Lamp on desk 3', '--description', 'by the window');
      expect(readable.code).toBe(0);
      const [, deviceId, deviceKey] = /^Created device (D[A-Za-z0-9]{7}) with key ([A-Za-z0-9]{16})$/m.exec(
        readable.stdout,
      ) ?? [undefined, undefined, undefined];
      expect(deviceId).toBeDefined();
      expect(deviceKey).toBeDefined();

      const created = await cliJson('devices', 'create', prototypeId, 'bench-01');
      expect(created).toMatchObject({
        deviceId: expect.stringMatching(/^D[A-Za-z0-9]{7}$/),
        deviceKey: expect.stringMatching(/^[A-Za-z0-9]{16}$/),
        prototypeId,
        name: 'bench-01',
        description: '',
        firmware: null,
        createdAt: expect.any(String),
      });

      const listed = await cliJson<any[]>('devices', 'list', prototypeId);
      expect(listed).toEqual((await server.api('GET', `/prototypes/${prototypeId}/devices`)).body);
      expect(listed.map((device) => [device.deviceId, device.deviceKey])).toEqual([
        [deviceId, deviceKey],
        [created.deviceId, created.deviceKey],
      ]);

      const table = await cli('devices', 'list', prototypeId);
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^DEVICE ID\s+DEVICE KEY\s+NAME\s+ONLINE\s+FIRMWARE\s+CREATED$/);
      expect(lines[1]).toMatch(new RegExp(`^${deviceId}\\s+${deviceKey}\\s+Lamp on desk 3\\s+no\\s+-\\s+`));
      expect(lines[2]).toMatch(new RegExp(`^${created.deviceId}\\s+${created.deviceKey}\\s+bench-01\\s+no\\s+-\\s+`));
    });

    it('says so when a prototype has no devices yet', async () => {
      const prototypeId = await newPrototype('Empty');
      const run = await cli('devices', 'list', prototypeId);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`No devices in ${prototypeId} yet`);
      expect(await cliJson('devices', 'list', prototypeId)).toEqual([]);
    });

    it('reports a prototype that does not exist with the API code and status', async () => {
      const run = await cli('devices', 'create', 'Pnotthereatall', 'x');
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^fota: .+ \(not_found, HTTP 404\)\n$/);
    });
  });

  describe('firmware', () => {
    it('uploads a file and answers the size, MD5 and SHA-256 of exactly its bytes', async () => {
      const prototypeId = await newPrototype('Uploads');
      // Several read chunks, and an odd size so nothing lines up by chance.
      const content = randomBytes(3 * 1024 * 1024 + 17);
      const path = await firmwareFile('lamp-1.0.bin', content);

      const uploaded = await cliJson(
        'firmware',
        'upload',
        prototypeId,
        path,
        '--name',
        'Lamp',
        '--version',
        '1.0',
        '--release-note',
        'First release',
      );
      expect(uploaded).toMatchObject({
        fwId: expect.stringMatching(/^F[A-Za-z0-9]{11}$/),
        prototypeId,
        name: 'Lamp',
        version: '1.0',
        releaseNote: 'First release',
        fileName: 'lamp-1.0.bin',
        size: content.length,
        md5: digest('md5', content),
        sha256: digest('sha256', content),
        prerequisites: 'all',
        url: `${server.url}/fw/${uploaded.fwId}`,
        createdAt: expect.any(String),
      });
      const download = await fetch(uploaded.url);
      expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true);

      const next = randomBytes(1000);
      const readable = await cli(
        'firmware',
        'upload',
        prototypeId,
        await firmwareFile('lamp-1.1.bin', next),
        '--name',
        'Lamp',
        '--version',
        '1.1',
        '--prerequisites',
        uploaded.fwId,
        '--checksum',
        digest('md5', next).toUpperCase(),
      );
      expect(readable.code).toBe(0);
      expect(readable.stderr).toBe('');
      const nextId = /^Uploaded firmware (F[A-Za-z0-9]{11})$/m.exec(readable.stdout)?.[1];
      expect(nextId).toBeDefined();
      expect(readable.stdout).toMatch(new RegExp(`md5\\s+${digest('md5', next)}`));
      expect(readable.stdout).toMatch(new RegExp(`sha256\\s+${digest('sha256', next)}`));
      expect(readable.stdout).toMatch(new RegExp(`prerequisites\\s+${uploaded.fwId}`));

      const listed = await cliJson<any[]>('firmware', 'list', prototypeId);
      expect(listed).toEqual((await server.api('GET', `/prototypes/${prototypeId}/firmwares`)).body);
      expect(listed.map((firmware) => [firmware.fwId, firmware.version, firmware.prerequisites])).toEqual([
        [uploaded.fwId, '1.0', 'all'],
        [nextId, '1.1', [uploaded.fwId]],
      ]);

      const table = await cli('firmware', 'list', prototypeId);
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^FIRMWARE ID\s+VERSION\s+NAME\s+SIZE\s+PREREQUISITES\s+MD5$/);
      expect(lines[1]).toMatch(
        new RegExp(`^${uploaded.fwId}\\s+1\\.0\\s+Lamp\\s+3\\.0 MiB\\s+all\\s+${uploaded.md5}$`),
      );
      expect(lines[2]).toMatch(new RegExp(`^${nextId}\\s+1\\.1\\s+Lamp\\s+1000 bytes\\s+${uploaded.fwId}\\s+`));
    });

    it('keeps the file name, with spaces, quotes and accents', async () => {
      const prototypeId = await newPrototype('File names');
      const path = await firmwareFile('lampe "nuit" é.bin', Buffer.from('firmware'));
      const uploaded = await cliJson('firmware', 'upload', prototypeId, path, '--name', 'Nuit', '--version', '2');
      // The server drops quotes from stored names.
      expect(uploaded.fileName).toBe('lampe nuit é.bin');
    });

    it('reports a duplicate version with the API message, code and status', async () => {
      const prototypeId = await newPrototype('Duplicates');
      const path = await firmwareFile('dup.bin', randomBytes(2048));
      const first = await cliJson('firmware', 'upload', prototypeId, path, '--name', 'A', '--version', '1.0');

      // Running the same upload again is a safe retry: it prints the firmware stored the first time.
      expect(await cliJson('firmware', 'upload', prototypeId, path, '--name', 'A', '--version', '1.0')).toEqual(first);

      const again = await cli('firmware', 'upload', prototypeId, path, '--name', 'B', '--version', '1.0');
      expect(again.code).toBe(1);
      expect(again.stdout).toBe('');
      expect(again.stderr).toBe('fota: version 1.0 already exists in this prototype (duplicate, HTTP 409)\n');
    });

    it('refuses a file whose checksum does not match, and keeps nothing of it', async () => {
      const prototypeId = await newPrototype('Checksums');
      const content = randomBytes(64 * 1024);
      const path = await firmwareFile('corrupt.bin', content);
      const wrong = digest('md5', Buffer.from('something else'));

      const run = await cli(
        'firmware',
        'upload',
        prototypeId,
        path,
        '--name',
        'C',
        '--version',
        '1',
        '--checksum',
        wrong,
      );
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `fota: checksum ${wrong} does not match the file's MD5 ${digest('md5', content)} (checksum_mismatch, HTTP 400)\n`,
      );

      expect(await cliJson('firmware', 'list', prototypeId)).toEqual([]);
      const table = await cli('firmware', 'list', prototypeId);
      expect(table.stdout).toContain(`No firmwares in ${prototypeId} yet`);
    });

    it('checks --checksum and --prerequisites before sending anything', async () => {
      const prototypeId = await newPrototype('Bad options');
      const path = await firmwareFile('ok.bin', randomBytes(100));
      const [checksum, prerequisites] = await Promise.all([
        cli('firmware', 'upload', prototypeId, path, '--name', 'X', '--version', '1', '--checksum', 'abc'),
        cli('firmware', 'upload', prototypeId, path, '--name', 'X', '--version', '1', '--prerequisites', 'F1,F2'),
      ]);
      expect(checksum.code).toBe(2);
      expect(checksum.stderr).toContain('an MD5 digest is 32 hexadecimal digits');
      expect(prerequisites.code).toBe(2);
      expect(prerequisites.stderr).toContain('"F1" is not a firmware id');
      expect(await cliJson('firmware', 'list', prototypeId)).toEqual([]);
    });

    it('reports a missing file before making any request', async () => {
      // Nothing listens on this URL: a request would fail with "connection refused" instead.
      const url = `http://127.0.0.1:${await freePort()}`;
      const missing = join(files, 'not-there.bin');
      const run = await fota(['firmware', 'upload', 'P00000000000', missing, '--name', 'X', '--version', '1'], {
        FOTA_URL: url,
        FOTA_TOKEN: server.token,
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`fota: no such file: ${missing}\n`);

      const folder = await cli('firmware', 'upload', 'P00000000000', files, '--name', 'X', '--version', '1');
      expect(folder.code).toBe(1);
      expect(folder.stderr).toBe(`fota: ${files} is not a file\n`);
    });

    it('needs --name and --version', async () => {
      const run = await cli('firmware', 'upload', 'P00000000000', join(files, 'x.bin'), '--version', '1');
      expect(run.code).toBe(2);
      expect(run.stderr).toBe("fota: required option '--name <name>' not specified; run fota firmware upload --help\n");
    });
  });

  describe('connection and authentication', () => {
    it('says how to pass the token when there is none', async () => {
      const run = await fota(['prototypes', 'list'], { FOTA_URL: server.url });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^fota: no administrator token: pass --token <token> or set FOTA_TOKEN/);
    });

    it('reports a wrong token with the API answer, for JSON calls and uploads', async () => {
      const prototypeId = await newPrototype('Tokens');
      const path = await firmwareFile('token.bin', randomBytes(256 * 1024));
      const env = { FOTA_URL: server.url, FOTA_TOKEN: 'not-the-token-at-all' };
      const [list, upload] = await Promise.all([
        fota(['prototypes', 'list'], env),
        fota(['firmware', 'upload', prototypeId, path, '--name', 'T', '--version', '1'], env),
      ]);
      for (const run of [list, upload]) {
        expect(run.code).toBe(1);
        expect(run.stdout).toBe('');
        expect(run.stderr).toBe(
          'fota: the bearer token is not valid (unauthenticated, HTTP 401); check --token or FOTA_TOKEN\n',
        );
      }
      expect(await cliJson('firmware', 'list', prototypeId)).toEqual([]);
    });

    it('names the URL it cannot reach', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const run = await fota(['prototypes', 'list'], { FOTA_URL: url, FOTA_TOKEN: server.token });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(new RegExp(`^fota: cannot connect to ${url}: connection refused`));
      expect(run.stderr).toContain('--url');
    });

    it('takes --url and --token over the environment', async () => {
      const unreachable = `http://127.0.0.1:${await freePort()}`;
      const run = await fota(['prototypes', 'list', '--json', '--url', server.url, '--token', server.token], {
        FOTA_URL: unreachable,
        FOTA_TOKEN: 'not-the-token-at-all',
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual((await server.api('GET', '/prototypes')).body);
    });

    it('refuses a --url that is not http or https', async () => {
      const run = await fota(['prototypes', 'list', '--url', 'ftp://example.com'], { FOTA_TOKEN: server.token });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('--url must be an http:// or https:// address');
    });
  });

  it('explains each command in its help, with examples', async () => {
    const [upload, devices] = await Promise.all([
      fota(['firmware', 'upload', '--help'], {}),
      fota(['devices', 'create', '--help'], {}),
    ]);
    expect(upload.code).toBe(0);
    for (const text of ['<prototypeId>', '<file>', '--checksum <md5>', '--prerequisites', 'FOTA_TOKEN', 'Examples:']) {
      expect(upload.stdout).toContain(text);
    }
    expect(devices.code).toBe(0);
    expect(devices.stdout).toContain('deviceKey');
    expect(devices.stdout).toContain('Examples:');
  });
});
