import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDomainError } from '../../domain/errors.js';
import type { Firmware, FirmwareSignature, Prototype, SigningKey } from '../../domain/model.js';
import type { OpenedDatabase } from './repositories.contract.js';
import { SqlFirmwareRepository } from './firmwares.js';
import { SqlPrototypeRepository } from './prototypes.js';
import { SqlSigningRepository } from './signing.js';

const at = (ms: number) => new Date(1_700_000_000_000 + ms);
const prototype = (id: string): Prototype => ({
  id,
  name: `board ${id}`,
  description: '',
  versionPolicy: 'any',
  board: 'mcs',
  createdAt: at(0),
});
const firmware = (id: string, prototypeId: string): Firmware => ({
  id,
  prototypeId,
  name: 'fw',
  version: id,
  releaseNote: '',
  fileName: 'fw.bin',
  size: 1,
  md5: '0'.repeat(32),
  sha256: id.padEnd(64, '0'),
  prerequisites: 'all',
  createdAt: at(1),
});
const key = (id: string, prototypeId: string, ms: number, sealed?: string): SigningKey => ({
  id,
  prototypeId,
  publicKey: id.repeat(4),
  sealedPrivateKey: sealed,
  createdAt: at(ms),
  retiredAt: undefined,
});
const signature = (firmwareId: string, keyId: string, ms: number): FirmwareSignature => ({
  firmwareId,
  keyId,
  manifest: `manifest of ${firmwareId} by ${keyId}\n`,
  signature: `ed25519 ${keyId} ${'ab'.repeat(64)}\n`,
  signedAt: at(ms),
});

/** The signing repository's contract, run unchanged on every engine. */
export function signingRepositoryContract(engine: string, open: () => Promise<OpenedDatabase>): void {
  describe(`the signing repository on ${engine}`, () => {
    let opened: OpenedDatabase;
    let signing: SqlSigningRepository;
    beforeEach(async () => {
      opened = await open();
      const db = opened.database.db;
      signing = new SqlSigningRepository(db);
      const prototypes = new SqlPrototypeRepository(db);
      await prototypes.insert(prototype('P1'));
      await prototypes.insert(prototype('P2'));
      const firmwares = new SqlFirmwareRepository(db);
      await firmwares.insert(firmware('F1', 'P1'), () => undefined);
      await firmwares.insert(firmware('F2', 'P1'), () => undefined);
      await firmwares.insert(firmware('F3', 'P2'), () => undefined);
    });
    afterEach(async () => opened.close());

    it('keeps one current key per prototype: a new key retires the one before, which stays listed', async () => {
      expect(await signing.currentKey('P1')).toBeUndefined();
      await signing.insertCurrentKey(key('aaaaaaaaaaaaaaaa', 'P1', 10, 'sealed'));
      await signing.insertCurrentKey(key('bbbbbbbbbbbbbbbb', 'P2', 11));
      await signing.insertCurrentKey(key('cccccccccccccccc', 'P1', 20));
      expect(await signing.currentKey('P1')).toEqual(key('cccccccccccccccc', 'P1', 20));
      expect(await signing.currentKey('P2')).toEqual(key('bbbbbbbbbbbbbbbb', 'P2', 11));
      expect(await signing.listKeys('P1')).toEqual([
        key('cccccccccccccccc', 'P1', 20),
        { ...key('aaaaaaaaaaaaaaaa', 'P1', 10, 'sealed'), retiredAt: at(20) },
      ]);
      expect(await signing.getKey('P1', 'aaaaaaaaaaaaaaaa')).toMatchObject({ sealedPrivateKey: 'sealed' });
      expect(await signing.getKey('P2', 'aaaaaaaaaaaaaaaa')).toBeUndefined();
    });

    it('refuses a key the prototype has already, and changes nothing', async () => {
      await signing.insertCurrentKey(key('aaaaaaaaaaaaaaaa', 'P1', 10));
      await signing.insertCurrentKey(key('cccccccccccccccc', 'P1', 20));
      const error = await signing.insertCurrentKey(key('aaaaaaaaaaaaaaaa', 'P1', 30)).catch((e: unknown) => e);
      expect(isDomainError(error, 'duplicate')).toBe(true);
      expect((await signing.currentKey('P1'))?.id).toBe('cccccccccccccccc');
      // The same public key may sign for another prototype.
      await signing.insertCurrentKey(key('aaaaaaaaaaaaaaaa', 'P2', 30));
    });

    it("keeps each key's signature of a firmware, the newest first, and replaces a key's own", async () => {
      await signing.putSignature(signature('F1', 'aaaaaaaaaaaaaaaa', 10));
      await signing.putSignature(signature('F1', 'cccccccccccccccc', 20));
      await signing.putSignature(signature('F2', 'aaaaaaaaaaaaaaaa', 15));
      await signing.putSignature(signature('F3', 'bbbbbbbbbbbbbbbb', 15));
      expect(await signing.signaturesOf('F1')).toEqual([
        signature('F1', 'cccccccccccccccc', 20),
        signature('F1', 'aaaaaaaaaaaaaaaa', 10),
      ]);
      await signing.putSignature(signature('F1', 'aaaaaaaaaaaaaaaa', 30));
      expect((await signing.signaturesOf('F1')).map((s) => s.signedAt)).toEqual([at(30), at(20)]);
      expect(await signing.newestSignatures('P1')).toEqual([
        signature('F1', 'aaaaaaaaaaaaaaaa', 30),
        signature('F2', 'aaaaaaaaaaaaaaaa', 15),
      ]);
      expect(await signing.signaturesOf('F9')).toEqual([]);
    });

    it("drops a firmware's signatures with it, and a prototype's keys with it", async () => {
      await signing.insertCurrentKey(key('aaaaaaaaaaaaaaaa', 'P1', 10));
      await signing.putSignature(signature('F1', 'aaaaaaaaaaaaaaaa', 10));
      await signing.putSignature(signature('F2', 'aaaaaaaaaaaaaaaa', 10));
      await new SqlFirmwareRepository(opened.database.db).delete('F1');
      expect(await signing.signaturesOf('F1')).toEqual([]);
      expect(await signing.signaturesOf('F2')).toHaveLength(1);
      await new SqlPrototypeRepository(opened.database.db).delete('P1');
      expect(await signing.listKeys('P1')).toEqual([]);
      expect(await signing.signaturesOf('F2')).toEqual([]);
    });
  });
}
