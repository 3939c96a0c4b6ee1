import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { keyIdOf, parseManifest, renderManifest, renderSignature } from '../domain/manifest.js';
import type { Firmware } from '../domain/model.js';
import { verifyFirmware, verifyManifest, VerificationError } from './firmware-verifier.js';

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return { privateKey, raw, hex: raw.toString('hex'), keyId: keyIdOf(raw) };
}

const bytes = Buffer.from('firmware bytes '.repeat(100));
const firmware: Firmware = {
  id: 'FAa6B540CMmJ',
  prototypeId: 'P4cjC0Jd3XwE',
  name: 'fw',
  version: '1.2.3',
  releaseNote: '',
  fileName: 'fw.bin',
  size: bytes.length,
  md5: createHash('md5').update(bytes).digest('hex'),
  sha256: createHash('sha256').update(bytes).digest('hex'),
  prerequisites: ['FAAAAAAAAAAA', 'FBBBBBBBBBBB'],
  createdAt: new Date('2026-12-01T15:00:00.000Z'),
};

function signed(key = keyPair()) {
  const manifest = renderManifest(firmware, key.keyId);
  const signature = renderSignature(key.keyId, sign(null, Buffer.from(manifest), key.privateKey));
  return { key, manifest, signature };
}

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('the manifest', () => {
  it('is short lines in a fixed order, and reads back as written', () => {
    const { manifest, key } = signed();
    expect(manifest).toBe(
      [
        'fota-manifest 1',
        'prototype P4cjC0Jd3XwE',
        'firmware FAa6B540CMmJ',
        'version 1.2.3',
        `size ${bytes.length}`,
        `md5 ${firmware.md5}`,
        `sha256 ${firmware.sha256}`,
        'prerequisites FAAAAAAAAAAA,FBBBBBBBBBBB',
        'created 2026-12-01T15:00:00.000Z',
        `key ${key.keyId}`,
        '',
      ].join('\n'),
    );
    expect(parseManifest(manifest)).toMatchObject({
      size: bytes.length,
      prerequisites: ['FAAAAAAAAAAA', 'FBBBBBBBBBBB'],
    });
    expect(parseManifest(renderManifest({ ...firmware, prerequisites: [] }, key.keyId))).toMatchObject({
      prerequisites: [],
    });
  });

  it.each([
    ['no final line feed', (m: string) => m.slice(0, -1)],
    ['another first line', (m: string) => m.replace('fota-manifest 1', 'fota-manifest 2')],
    ['a line missing', (m: string) => m.replace(/^version .*\n/m, '')],
    ['lines out of order', (m: string) => m.replace(/^(size .*\n)(md5 .*\n)/m, '$2$1')],
    ['a size that is not a number', (m: string) => m.replace(/^size .*$/m, 'size 12a')],
    ['a value with a space', (m: string) => m.replace(/^version .*$/m, 'version 1 2')],
    ['upper-case hex', (m: string) => m.replace(/^sha256 (.*)$/m, (_, h: string) => `sha256 ${h.toUpperCase()}`)],
  ])('is refused with %s', (_, change) => {
    expect(typeof parseManifest(change(signed().manifest))).toBe('string');
  });
});

describe('the TypeScript verifier', () => {
  it('accepts a manifest signed by a trusted key and the firmware it describes', async () => {
    const { key, manifest, signature } = signed();
    const read = verifyManifest(manifest, signature, [{ publicKey: keyPair().hex }, { publicKey: key.hex }]);
    expect(read).toMatchObject({ firmwareId: firmware.id, keyId: key.keyId, sha256: firmware.sha256 });
    await verifyFirmware(read, Readable.from([bytes.subarray(0, 7), bytes.subarray(7)]));
  });

  it('refuses a tampered firmware: a changed byte, one byte more, one byte less', async () => {
    const { key, manifest, signature } = signed();
    const read = verifyManifest(manifest, signature, [{ publicKey: key.hex }]);
    const changed = Buffer.from(bytes);
    changed[10] = changed[10]! ^ 1;
    await expect(verifyFirmware(read, Readable.from([changed]))).rejects.toThrow(/SHA-256/);
    await expect(verifyFirmware(read, Readable.from([bytes, Buffer.from('x')]))).rejects.toThrow(/bytes/);
    await expect(verifyFirmware(read, Readable.from([bytes.subarray(1)]))).rejects.toThrow(/bytes/);
  });

  it('refuses a tampered manifest, even one whose signature names the same key', () => {
    const { key, manifest, signature } = signed();
    const tampered = manifest.replace('version 1.2.3', 'version 1.2.4');
    expect(refusal(() => verifyManifest(tampered, signature, [{ publicKey: key.hex }]))).toMatch(/does not match/);
  });

  it('refuses a manifest signed by a key it does not trust', () => {
    const { manifest, signature } = signed();
    expect(refusal(() => verifyManifest(manifest, signature, [{ publicKey: keyPair().hex }]))).toMatch(/not trusted/);
  });

  it('refuses a signature that claims a trusted key it was not made with', () => {
    const trusted = keyPair();
    const { manifest, signature } = signed();
    const claimed = signature.replace(/^ed25519 \S+/, `ed25519 ${trusted.keyId}`);
    expect(refusal(() => verifyManifest(manifest, claimed, [{ publicKey: trusted.hex }]))).toMatch(/does not match/);
  });

  it('refuses a manifest that names another key than its signature', () => {
    const key = keyPair();
    const manifest = renderManifest(firmware, keyPair().keyId);
    const signature = renderSignature(key.keyId, sign(null, Buffer.from(manifest), key.privateKey));
    expect(refusal(() => verifyManifest(manifest, signature, [{ publicKey: key.hex }]))).toMatch(/names key/);
  });

  it('refuses malformed signatures and keys, and oversized input', () => {
    const { key, manifest, signature } = signed();
    const trusted = [{ publicKey: key.hex }];
    expect(refusal(() => verifyManifest(manifest, 'ed25519 abc', trusted))).toMatch(/is not "ed25519/);
    expect(refusal(() => verifyManifest(manifest, signature.replace('ed25519', 'rsa'), trusted))).toMatch(/is not/);
    expect(refusal(() => verifyManifest(manifest, signature, [{ publicKey: 'xyz' }]))).toMatch(/64 hexadecimal/);
    expect(refusal(() => verifyManifest(manifest + 'x'.repeat(3000), signature, trusted))).toMatch(/larger/);
    expect(refusal(() => verifyManifest(manifest, signature + ' '.repeat(300), trusted))).toMatch(/larger/);
  });
});
