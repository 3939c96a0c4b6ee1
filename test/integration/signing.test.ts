import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFirmware, verifyManifest, type TrustedKey } from '../../src/contract/firmware-verifier.js';
import { runSimulation, type SimulationEvent } from '../../src/simulator/index.js';
import { buildCVerifier, type CVerdict } from '../support/c-verifier.js';
import { eventually } from '../support/data-dir.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

const KEK = randomBytes(32).toString('base64');

let server: TestServer;
let unkeyed: TestServer;
let dir: string;
let cVerify: (publicKey: string, manifest: string, signature: string, firmware: string) => Promise<CVerdict>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fota-signing-'));
  [server, unkeyed, cVerify] = await Promise.all([
    startServer({ FOTA_SIGNING_KEK: KEK }),
    startServer(),
    buildCVerifier(dir),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), unkeyed?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const newPrototype = async (target: TestServer, name: string): Promise<string> =>
  (await target.api<any>('POST', '/prototypes', { name })).body.prototypeId;

async function get(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** What a device downloads: the manifest, its signature and the firmware, as files too. */
async function download(url: string, name: string) {
  const [manifest, signature, firmware] = await Promise.all([
    get(`${url}/manifest`),
    get(`${url}/manifest.sig`),
    get(url),
  ]);
  const files = {
    manifest: join(dir, `${name}.manifest`),
    signature: join(dir, `${name}.sig`),
    firmware: join(dir, name),
  };
  await Promise.all([
    writeFile(files.manifest, manifest),
    writeFile(files.signature, signature),
    writeFile(files.firmware, firmware),
  ]);
  return { manifest, signature, firmware, files };
}

async function tsVerdict(manifest: Buffer, signature: Buffer, firmware: Buffer, trusted: TrustedKey[]) {
  try {
    await verifyFirmware(verifyManifest(manifest, signature, trusted), Readable.from([firmware]));
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('firmware signed by a key the server holds', () => {
  let pid: string;
  let key: any;
  let firmware: any;
  const content = randomBytes(200_000);

  beforeAll(async () => {
    pid = await newPrototype(server, 'signed');
    const created = await server.api<any>('POST', `/prototypes/${pid}/signing-keys`, {});
    expect(created.status).toBe(201);
    key = created.body;
    firmware = (await uploadFirmware(server, pid, { name: 'fw', version: '1.0', prerequisites: 'all' }, content)).body;
  });

  it('serves the public key with its id, and signs each upload', async () => {
    expect(key).toMatchObject({ algorithm: 'ed25519', heldBy: 'server', current: true, retiredAt: null });
    expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(key.publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(key.publicKeyPem).toContain('BEGIN PUBLIC KEY');
    expect((await server.api('GET', `/prototypes/${pid}/signing-key`)).body).toEqual(key);
    const signatures = (await server.api<any[]>('GET', `/prototypes/${pid}/signatures`)).body;
    expect(signatures).toEqual([
      expect.objectContaining({
        fwId: firmware.fwId,
        keyId: key.keyId,
        manifestUrl: `${firmware.url}/manifest`,
        signatureUrl: `${firmware.url}/manifest.sig`,
      }),
    ]);
  });

  it('serves the manifest and its signature beside the binary; both verifiers accept them', async () => {
    const got = await download(firmware.url, 'good');
    expect(got.manifest.toString()).toBe(
      [
        'fota-manifest 1',
        `prototype ${pid}`,
        `firmware ${firmware.fwId}`,
        'version 1.0',
        `size ${content.length}`,
        `md5 ${firmware.md5}`,
        `sha256 ${firmware.sha256}`,
        'prerequisites all',
        `created ${firmware.createdAt}`,
        `key ${key.keyId}`,
        '',
      ].join('\n'),
    );
    expect(got.signature.toString()).toMatch(new RegExp(`^ed25519 ${key.keyId} [0-9a-f]{128}\\n$`));
    expect(await tsVerdict(got.manifest, got.signature, got.firmware, [{ publicKey: key.publicKey }])).toBe('ok');
    const c = await cVerify(key.publicKey, got.files.manifest, got.files.signature, got.files.firmware);
    expect(c).toMatchObject({ code: 0, stdout: 'fota_verify: ok\n' });
  });

  it('refuses a tampered binary, a tampered manifest and a wrong key, in TypeScript and in C', async () => {
    const got = await download(firmware.url, 'tamper');
    const trusted = [{ publicKey: key.publicKey }];

    const binary = Buffer.from(got.firmware);
    binary[1000] = binary[1000]! ^ 0x01;
    await writeFile(join(dir, 'tampered.bin'), binary);
    expect(await tsVerdict(got.manifest, got.signature, binary, trusted)).toMatch(/SHA-256/);
    const cBinary = await cVerify(key.publicKey, got.files.manifest, got.files.signature, join(dir, 'tampered.bin'));
    expect(cBinary).toMatchObject({ code: 1, stderr: expect.stringContaining("firmware's SHA-256") });

    const manifest = Buffer.from(
      got.manifest.toString().replace(`size ${content.length}`, `size ${content.length - 1}`),
    );
    await writeFile(join(dir, 'tampered.manifest'), manifest);
    expect(await tsVerdict(manifest, got.signature, got.firmware, trusted)).toMatch(/does not match the manifest/);
    const cManifest = await cVerify(
      key.publicKey,
      join(dir, 'tampered.manifest'),
      got.files.signature,
      got.files.firmware,
    );
    expect(cManifest).toMatchObject({ code: 1, stderr: expect.stringContaining('does not match the manifest') });

    const wrong = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
    expect(await tsVerdict(got.manifest, got.signature, got.firmware, [{ publicKey: wrong.toString('hex') }])).toMatch(
      /not trusted/,
    );
    const cWrong = await cVerify(wrong.toString('hex'), got.files.manifest, got.files.signature, got.files.firmware);
    expect(cWrong).toMatchObject({ code: 1, stderr: expect.stringContaining('another key') });
  });

  it('rotates: the new key signs from then on, the old one stays listed and its manifests still verify', async () => {
    const before = await download(firmware.url, 'before-rotation');
    const rotated = (await server.api<any>('POST', `/prototypes/${pid}/signing-keys`, {})).body;
    expect(rotated.keyId).not.toBe(key.keyId);
    const keys = (await server.api<any[]>('GET', `/prototypes/${pid}/signing-keys`)).body;
    expect(keys.map((k) => [k.keyId, k.current])).toEqual([
      [rotated.keyId, true],
      [key.keyId, false],
    ]);
    expect(keys[1].retiredAt).toBe(rotated.createdAt);
    expect((await server.api<any>('GET', `/prototypes/${pid}/signing-key`)).body.keyId).toBe(rotated.keyId);

    // The firmware signed before is still served as the old key signed it, and verifies with it.
    const old = await download(firmware.url, 'old');
    expect(old.manifest).toEqual(before.manifest);
    const trustedBoth = keys.map((k) => ({ publicKey: k.publicKey }));
    expect(await tsVerdict(old.manifest, old.signature, old.firmware, trustedBoth)).toBe('ok');
    expect(await cVerify(key.publicKey, old.files.manifest, old.files.signature, old.files.firmware)).toMatchObject({
      code: 0,
    });
    // A device that trusts only the new key refuses it until it is signed again.
    expect(await tsVerdict(old.manifest, old.signature, old.firmware, [{ publicKey: rotated.publicKey }])).toMatch(
      /not trusted/,
    );

    const next = (await uploadFirmware(server, pid, { name: 'fw', version: '2.0' }, randomBytes(5000))).body;
    const fresh = await download(next.url, 'fresh');
    expect(fresh.signature.toString()).toContain(rotated.keyId);
    expect(
      await cVerify(rotated.publicKey, fresh.files.manifest, fresh.files.signature, fresh.files.firmware),
    ).toMatchObject({ code: 0 });

    // Signed again with the new key: served so, the old key's manifest kept beside it.
    const resigned = await server.api<any>('POST', `/firmwares/${firmware.fwId}/signatures`, {});
    expect(resigned).toMatchObject({ status: 201, body: { keyId: rotated.keyId } });
    const now = await download(firmware.url, 'resigned');
    expect(await tsVerdict(now.manifest, now.signature, now.firmware, [{ publicKey: rotated.publicKey }])).toBe('ok');
    const all = (await server.api<any[]>('GET', `/firmwares/${firmware.fwId}/signatures`)).body;
    expect(all.map((s) => s.keyId)).toEqual([rotated.keyId, key.keyId]);
    expect(all[1].manifest).toBe(before.manifest.toString());
  });

  it('a rotation with resign signs every firmware of the prototype with the new key', async () => {
    const rotated = (await server.api<any>('POST', `/prototypes/${pid}/signing-keys`, { resign: true })).body;
    const signatures = (await server.api<any[]>('GET', `/prototypes/${pid}/signatures`)).body;
    expect(signatures).toHaveLength(2);
    expect(signatures.every((s) => s.keyId === rotated.keyId)).toBe(true);
  });

  it('lets only admins create keys, and only developers sign', async () => {
    const tokenOf = async (role: string) =>
      (await server.api<any>('POST', '/tokens', { name: role, role })).body.token as string;
    const call = async (token: string, method: string, path: string, body: unknown) =>
      fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const developer = await tokenOf('developer');
    const viewer = await tokenOf('viewer');
    const refused = await call(developer, 'POST', `/prototypes/${pid}/signing-keys`, {});
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('role admin');
    expect((await call(viewer, 'POST', `/firmwares/${firmware.fwId}/signatures`, {})).status).toBe(403);
    expect((await call(developer, 'POST', `/firmwares/${firmware.fwId}/signatures`, {})).status).toBe(201);
    const read = await fetch(`${server.url}/api/v1/prototypes/${pid}/signing-key`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(read.status).toBe(200);
  });

  it('answers 404 beside a firmware that is not signed, and for an unknown firmware', async () => {
    const other = await newPrototype(server, 'unsigned');
    const unsigned = (await uploadFirmware(server, other, { name: 'fw', version: '1' }, 'bytes')).body;
    expect((await fetch(`${unsigned.url}/manifest`)).status).toBe(404);
    expect((await fetch(`${unsigned.url}/manifest.sig`)).status).toBe(404);
    expect((await fetch(`${server.url}/fw/FAAAAAAAAAAA/manifest`)).status).toBe(404);
    expect((await server.api('GET', `/prototypes/${other}/signing-key`)).status).toBe(404);
  });
});

describe('firmware signed by a key its owner keeps (the CLI signs)', () => {
  const owner = generateKeyPairSync('ed25519');
  const publicKey = Buffer.from(owner.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');

  it('refuses a server-held key without FOTA_SIGNING_KEK, naming the variable', async () => {
    const pid = await newPrototype(unkeyed, 'no kek');
    const refused = await unkeyed.api<any>('POST', `/prototypes/${pid}/signing-keys`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'not_configured',
      message: expect.stringContaining('FOTA_SIGNING_KEK'),
    });
    expect((await unkeyed.api('GET', `/prototypes/${pid}/signing-keys`)).body).toEqual([]);
  });

  it('registers a public key, refuses a private one, and keeps a signature only when it verifies', async () => {
    const pid = await newPrototype(unkeyed, 'owner signs');
    const pem = owner.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const privateRefused = await unkeyed.api<any>('POST', `/prototypes/${pid}/signing-keys`, { publicKey: pem });
    expect(privateRefused.status).toBe(400);
    expect(privateRefused.body.error.message).toContain('public key only');
    const spki = owner.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const key = (await unkeyed.api<any>('POST', `/prototypes/${pid}/signing-keys`, { publicKey: spki })).body;
    expect(key).toMatchObject({ publicKey, heldBy: 'owner', current: true });

    const firmware = (await uploadFirmware(unkeyed, pid, { name: 'fw', version: '1' }, randomBytes(3000))).body;
    expect((await fetch(`${firmware.url}/manifest`)).status).toBe(404);
    const serverSign = await unkeyed.api<any>('POST', `/firmwares/${firmware.fwId}/signatures`, {});
    expect(serverSign.status).toBe(409);
    expect(serverSign.body.error.message).toContain('--key');

    const toSign = (await unkeyed.api<any>('GET', `/firmwares/${firmware.fwId}/manifest`)).body;
    expect(toSign.keyId).toBe(key.keyId);
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = `ed25519 ${key.keyId} ${sign(null, Buffer.from(toSign.manifest), other).toString('hex')}`;
    const bad = await unkeyed.api<any>('POST', `/firmwares/${firmware.fwId}/signatures`, { signature: forged });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'bad_signature' } } });
    expect((await fetch(`${firmware.url}/manifest`)).status).toBe(404);

    const signature = `ed25519 ${key.keyId} ${sign(null, Buffer.from(toSign.manifest), owner.privateKey).toString('hex')}\n`;
    const kept = await unkeyed.api<any>('POST', `/firmwares/${firmware.fwId}/signatures`, { signature });
    expect(kept.status).toBe(201);
    const got = await download(firmware.url, 'owner');
    expect(got.manifest.toString()).toBe(toSign.manifest);
    expect(got.signature.toString()).toBe(signature);
    expect(await cVerify(publicKey, got.files.manifest, got.files.signature, got.files.firmware)).toMatchObject({
      code: 0,
    });
  });
});

describe('the simulator against a server that signs', () => {
  it('verifies the pushed download with the prototype key, upgrades, and fails an update the key does not sign', async () => {
    const pid = await newPrototype(server, 'simulated signed');
    await uploadFirmware(server, pid, { name: 'lamp', version: '1.0' }, 'lamp 1.0');
    const before = (await uploadFirmware(server, pid, { name: 'lamp', version: '1.5' }, 'lamp 1.5 '.repeat(500))).body;
    // Signed from here on: 1.0 and 1.5 came before the key and stay unsigned.
    expect((await server.api('POST', `/prototypes/${pid}/signing-keys`, {})).status).toBe(201);
    const signed = (await uploadFirmware(server, pid, { name: 'lamp', version: '2.0' }, 'lamp 2.0 '.repeat(3000))).body;
    const stop = new AbortController();
    const events: SimulationEvent[] = [];
    const run = runSimulation(
      {
        url: server.url,
        token: server.token,
        prototypeId: pid,
        devices: 1,
        protocol: 'tcp',
        startVersion: '1.0',
        signal: stop.signal,
      },
      (event) => events.push(event),
    );
    try {
      const [one] = await eventually(
        async () => run.devices(),
        (devices) => devices.length === 1 && devices[0]!.state === 'connected',
      );
      const deviceId = one!.deviceId;
      expect((await server.api('POST', `/firmwares/${before.fwId}/push`, { deviceIds: [deviceId] })).status).toBe(201);
      const failed = await eventually(
        async () => events.filter((event) => event.type === 'fota.failed'),
        (list) => list.length === 1,
        30_000,
      );
      expect(failed[0]).toMatchObject({
        version: '1.5',
        reason: expect.stringContaining('manifest answered HTTP 404'),
      });

      expect((await server.api('POST', `/firmwares/${signed.fwId}/push`, { deviceIds: [deviceId] })).status).toBe(201);
      await eventually(
        async () => (await server.api<any>('GET', `/devices/${deviceId}`)).body,
        (body) => body.firmware?.version === '2.0',
        30_000,
      );
      expect(run.devices()[0]).toMatchObject({ upgraded: 1, failed: 1 });
    } finally {
      stop.abort();
      await run.done;
    }
  });
});
