import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyIdOf, renderManifest, renderSignature } from '../domain/manifest.js';
import { heartbeatHabits } from './heartbeats.js';
import { SimulatedDevice } from './simulated-device.js';
import { startLoopbackFota, until, type LoopbackFota } from './testing/loopback-fota.js';
import type { SimulationEvent } from './types.js';

const firmwareBytes = Buffer.from('firmware 2.0 '.repeat(5_000));

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { privateKey, publicKey: raw.toString('hex'), keyId: keyIdOf(raw) };
}

/** The manifest of `described` signed by `key`, as the server serves it beside `/fw/<name>`. */
function serveSigned(name: string, bytes: Buffer, described: Buffer, key: ReturnType<typeof keyPair>): string {
  const manifest = renderManifest(
    {
      id: 'FAa6B540CMmJ',
      prototypeId: fota.prototypeId,
      name: 'fw',
      version: '2.0',
      releaseNote: '',
      fileName: name,
      size: described.length,
      md5: createHash('md5').update(described).digest('hex'),
      sha256: createHash('sha256').update(described).digest('hex'),
      prerequisites: 'all',
      createdAt: new Date('2026-12-01T15:00:00.000Z'),
    },
    key.keyId,
  );
  fota.firmware(`${name}/manifest`, Buffer.from(manifest));
  fota.firmware(
    `${name}/manifest.sig`,
    Buffer.from(renderSignature(key.keyId, sign(null, Buffer.from(manifest), key.privateKey))),
  );
  return fota.firmware(name, bytes).url;
}

let fota: LoopbackFota;
let running: SimulatedDevice[];
let events: SimulationEvent[];

beforeEach(async () => {
  fota = await startLoopbackFota();
  fota.versions.push('1.0', '2.0');
  running = [];
  events = [];
});
afterEach(async () => {
  await Promise.all(running.map((device) => device.stop()));
  await fota.stop();
});

async function upgrade(url: string, trusted: string[]): Promise<SimulatedDevice> {
  const identity = fota.addDevice(`sim-${running.length + 1}`);
  const simulated = new SimulatedDevice(
    {
      identity,
      httpBase: fota.url,
      startVersion: '1.0',
      protocol: 'tcp',
      heartbeat: heartbeatHabits[1],
      backoff: { initialMs: 20, maxMs: 100, stableMs: 60_000 },
      trustedKeys: trusted.map((publicKey) => ({ publicKey })),
    },
    (event) => events.push(event),
  );
  running.push(simulated);
  await simulated.start();
  await until(() => fota.livePeers().some((peer) => peer.deviceId === simulated.deviceId), 'identified');
  fota.sendTcp(simulated.deviceId, `${simulated.deviceId},${identity.deviceKey},1513132150790,FOTA,2.0,null,${url}`);
  await until(() => simulated.snapshot().upgraded + simulated.snapshot().failed === 1, 'upgraded or failed');
  return simulated;
}

const failure = (simulated: SimulatedDevice) =>
  events.find((event) => event.type === 'fota.failed' && event.deviceId === simulated.deviceId);

describe('a simulated device that trusts signing keys', () => {
  it('verifies the signed manifest and the bytes of every download, then upgrades', async () => {
    const key = keyPair();
    const url = serveSigned('fw.bin', firmwareBytes, firmwareBytes, key);
    const simulated = await upgrade(url, [keyPair().publicKey, key.publicKey]);
    expect(simulated.snapshot()).toMatchObject({ upgraded: 1, failed: 0, version: '2.0' });
    expect(fota.requests.map((request) => request.path)).toEqual(
      expect.arrayContaining(['/fw/fw.bin/manifest', '/fw/fw.bin/manifest.sig', '/fw/fw.bin']),
    );
  });

  it.each([
    [
      'a tampered binary',
      (key: ReturnType<typeof keyPair>) =>
        serveSigned('fw.bin', Buffer.concat([firmwareBytes.subarray(1), Buffer.from('x')]), firmwareBytes, key),
      /signature check failed: the firmware's SHA-256/,
    ],
    [
      'a manifest signed by a key it does not trust',
      () => serveSigned('fw.bin', firmwareBytes, firmwareBytes, keyPair()),
      /signature check failed: the manifest is signed by key \w+, which is not trusted/,
    ],
    ['a firmware without a manifest', () => fota.firmware('fw.bin', firmwareBytes).url, /manifest answered HTTP 404/],
  ])('reports %s as a failed update, and does not report the version', async (_, serve, reason) => {
    const key = keyPair();
    const simulated = await upgrade(serve(key), [key.publicKey]);
    expect(simulated.snapshot()).toMatchObject({ upgraded: 0, failed: 1, version: '1.0' });
    expect(failure(simulated)).toMatchObject({ version: '2.0', reason: expect.stringMatching(reason) });
    expect(fota.reports(simulated.deviceId)).toEqual(['1.0']);
  });
});
