import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCVerifier } from '../support/c-verifier.js';
import { runFota, type Run } from '../support/fota-cli.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer;
let dir: string;
let cli: (...args: string[]) => Promise<Run>;

beforeAll(async () => {
  // No FOTA_SIGNING_KEK: the key never reaches the server, the CLI signs.
  server = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'fota-cli-signing-'));
  cli = (...args) => runFota(args, { FOTA_URL: server.url, FOTA_TOKEN: server.token });
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('signing with the CLI', () => {
  it('registers a key, uploads with --sign, and verifies as a device does; refuses a tampered file and a wrong key', async () => {
    const owner = generateKeyPairSync('ed25519');
    const keyFile = join(dir, 'key.pem');
    await writeFile(keyFile, owner.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const firmwareFile = join(dir, 'lamp-1.0.bin');
    const content = randomBytes(40_000);
    await writeFile(firmwareFile, content);
    const pid = (await server.api<any>('POST', '/prototypes', { name: 'cli signing' })).body.prototypeId;

    const registered = await cli('prototypes', 'signing-key', 'register', pid, keyFile);
    expect(registered.stderr).toBe('');
    expect(registered.code).toBe(0);
    const keyId = /Registered signing key ([0-9a-f]{16})/.exec(registered.stdout)?.[1];
    expect(keyId).toBeDefined();
    expect(registered.stdout).toContain('its owner (the CLI signs)');

    const uploaded = await cli(
      'firmware',
      'upload',
      pid,
      firmwareFile,
      '--name',
      'Lamp',
      '--version',
      '1.0',
      '--sign',
      keyFile,
    );
    expect(uploaded.stderr).toBe('');
    expect(uploaded.stdout).toContain(`Signed with key ${keyId}`);
    const fwId = /Uploaded firmware (F\w{11})/.exec(uploaded.stdout)![1]!;

    const verified = await cli('firmware', 'verify', fwId);
    expect(verified).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(`Verified firmware ${fwId}: signed by key ${keyId}`),
    });

    // The device's own key, given as a file or as hex; the C verifier agrees on what was served.
    const publicKey = Buffer.from(owner.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    expect((await cli('firmware', 'verify', fwId, '--public-key', publicKey, '--file', firmwareFile)).code).toBe(0);
    const cVerify = await buildCVerifier(dir);
    const fw = (await server.api<any>('GET', `/firmwares/${fwId}`)).body;
    const files = { manifest: join(dir, 'm'), signature: join(dir, 's') };
    await writeFile(files.manifest, Buffer.from(await (await fetch(`${fw.url}/manifest`)).arrayBuffer()));
    await writeFile(files.signature, Buffer.from(await (await fetch(`${fw.url}/manifest.sig`)).arrayBuffer()));
    expect((await cVerify(publicKey, files.manifest, files.signature, firmwareFile)).code).toBe(0);

    const tampered = join(dir, 'tampered.bin');
    const changed = Buffer.from(content);
    changed[0] = changed[0]! ^ 0xff;
    await writeFile(tampered, changed);
    const refused = await cli('firmware', 'verify', fwId, '--file', tampered);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^fota: firmware \w+ is refused: the firmware's SHA-256 is /);

    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' });
    const otherFile = join(dir, 'other.pub');
    await writeFile(otherFile, other);
    const wrongKey = await cli('firmware', 'verify', fwId, '--public-key', otherFile);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain(`signed by key ${keyId}, which is not trusted`);

    const listed = await cli('prototypes', 'signing-key', 'list', pid);
    expect(listed.stdout).toMatch(new RegExp(`^${keyId}\\s+yes\\s+owner`, 'm'));
  });

  it('refuses a key file that holds no Ed25519 private key, before uploading anything', async () => {
    const pid = (await server.api<any>('POST', '/prototypes', { name: 'bad key' })).body.prototypeId;
    const notAKey = join(dir, 'not-a-key.pem');
    await writeFile(notAKey, 'hello');
    const firmwareFile = join(dir, 'x.bin');
    await writeFile(firmwareFile, 'bytes');
    const run = await cli('firmware', 'upload', pid, firmwareFile, '--name', 'x', '--version', '1', '--sign', notAKey);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('openssl genpkey -algorithm ed25519');
    expect((await server.api<any[]>('GET', `/prototypes/${pid}/firmwares`)).body).toEqual([]);
  });

  it('creating a server-held key on a server without FOTA_SIGNING_KEK says which variable to set', async () => {
    const pid = (await server.api<any>('POST', '/prototypes', { name: 'no kek' })).body.prototypeId;
    const run = await cli('prototypes', 'signing-key', 'create', pid);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('FOTA_SIGNING_KEK');
  });
});
