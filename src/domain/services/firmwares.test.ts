import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../storage/local-blob-store.js';
import { DomainError, type ErrorCode } from '../errors.js';
import type { Actor, Firmware, Prototype, VersionPolicy } from '../model.js';
import { servicesOver } from '../testing/fakes.js';
import { assertVersionAllowed, type FirmwareUpload } from './firmwares.js';

const admin: Actor = { kind: 'admin' };

let root: string;
let store: LocalBlobStore;
let s: ReturnType<typeof servicesOver>;
let prototype: Prototype;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fota-firmwares-'));
  store = new LocalBlobStore(root);
  await store.open();
  s = servicesOver(store, { maxFirmwareBytes: 1000 });
  prototype = await s.prototypes.create(admin, { name: 'Board' });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function upload(version: string, extra: Partial<FirmwareUpload> & { bytes?: string } = {}): Promise<Firmware> {
  const { bytes = `firmware ${version}`, ...fields } = extra;
  return s.firmwares.upload(
    admin,
    prototype.id,
    { name: `fw ${version}`, version, ...fields },
    Readable.from([Buffer.from(bytes)]),
  );
}

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

async function blobKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const { sha256 } of store.entries()) keys.push(sha256);
  return keys.sort();
}

async function setPolicy(policy: VersionPolicy): Promise<void> {
  prototype = await s.prototypes.update(admin, prototype.id, { versionPolicy: policy });
}

describe('FirmwareService.upload', () => {
  it('stores the row and the blob, hashed while streaming', async () => {
    const firmware = await upload('1.0', { releaseNote: ' first ', fileName: '../../evil/a.bin' });
    expect(firmware).toMatchObject({
      prototypeId: prototype.id,
      name: 'fw 1.0',
      version: '1.0',
      releaseNote: 'first',
      fileName: 'a.bin',
      size: 'firmware 1.0'.length,
      md5: md5('firmware 1.0'),
      sha256: sha256('firmware 1.0'),
      prerequisites: 'all',
    });
    expect(firmware.id).toMatch(/^F[A-Za-z0-9]{11}$/);
    expect(await s.repositories.firmwares.get(firmware.id)).toEqual(firmware);
    expect(await blobKeys()).toEqual([firmware.sha256]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it.each<[string, string]>([
    ['the same MD5', md5('firmware 1.0')],
    ['the MD5 in upper case', md5('firmware 1.0').toUpperCase()],
    ['the MD5 with spaces around', `  ${md5('firmware 1.0')} `],
    ['an empty checksum', ''],
    ['a blank checksum', '   '],
  ])('accepts %s as checksum', async (_label, checksum) => {
    const firmware = await upload('1.0', { checksum });
    expect(firmware.md5).toBe(md5('firmware 1.0'));
  });

  it.each<[string, Partial<FirmwareUpload> & { bytes?: string }, ErrorCode, RegExp]>([
    ['a checksum of other bytes', { checksum: md5('other') }, 'checksum_mismatch', /does not match/],
    ['an empty file', { bytes: '' }, 'empty_file', /empty/],
    ['a file over the limit', { bytes: 'x'.repeat(1001) }, 'too_large', /1000 bytes/],
    ['a checksum that is not an MD5', { checksum: 'abc' }, 'invalid_input', /32 hexadecimal/],
    ['a checksum that is a SHA-256', { checksum: sha256('x') }, 'invalid_input', /32 hexadecimal/],
    ['a version with a comma', { version: '1,0' }, 'invalid_input', /comma/],
    ['an empty version', { version: '' }, 'invalid_input', /1 to 32/],
    ['a 33-character version', { version: '1'.repeat(33) }, 'invalid_input', /1 to 32/],
    ['an empty name', { name: ' ' }, 'invalid_input', /name is required/],
    ['an unknown prerequisite', { prerequisites: ['FZZZZZZZZZZZ'] }, 'invalid_input', /not a firmware of/],
  ])('refuses %s and leaves no row and no file', async (_label, extra, code, message) => {
    const error = await failure(upload('1.0', extra));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(await s.repositories.firmwares.listByPrototype(prototype.id)).toEqual([]);
    expect(await blobKeys()).toEqual([]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('refuses a firmware of an unknown prototype', async () => {
    const error = await failure(
      s.firmwares.upload(admin, 'PZZZZZZZZZZZ', { name: 'x', version: '1' }, Readable.from([Buffer.from('x')])),
    );
    expect(error.code).toBe('not_found');
  });

  it('a refused duplicate keeps the existing blob, which the first firmware still uses', async () => {
    const first = await upload('1.0', { bytes: 'shared' });
    expect((await failure(upload('1.0', { bytes: 'shared', name: 'another name' }))).code).toBe('duplicate');
    expect(await blobKeys()).toEqual([first.sha256]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('answers a retry of the same upload with the firmware stored first, and writes nothing', async () => {
    const fields = { name: 'fw', version: '1.0', releaseNote: 'note', fileName: 'fw.bin' };
    const bytes = () => Readable.from([Buffer.from('retried')]);
    const first = await s.firmwares.store(admin, prototype.id, fields, bytes());
    expect(first.created).toBe(true);
    const retry = await s.firmwares.store(admin, prototype.id, fields, bytes());
    expect(retry).toEqual({ firmware: first.firmware, created: false });
    expect(await s.repositories.firmwares.listByPrototype(prototype.id)).toEqual([first.firmware]);
    expect(await blobKeys()).toEqual([first.firmware.sha256]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    // Another file name, release note or prerequisite list is not a retry.
    for (const change of [{ fileName: 'other.bin' }, { releaseNote: 'other' }, { prerequisites: [] as string[] }]) {
      expect((await failure(s.firmwares.store(admin, prototype.id, { ...fields, ...change }, bytes()))).code).toBe(
        'duplicate',
      );
    }
  });

  it('refuses the upload without a trace when beforeCommit refuses after the bytes are staged', async () => {
    const refusal = new DomainError('invalid_input', 'a field after the file');
    const attempt = s.firmwares.store(
      admin,
      prototype.id,
      { name: 'fw', version: '1.0' },
      Readable.from([Buffer.from('x')]),
      {
        beforeCommit: async () => {
          throw refusal;
        },
      },
    );
    await expect(attempt).rejects.toBe(refusal);
    expect(await s.repositories.firmwares.listByPrototype(prototype.id)).toEqual([]);
    expect(await blobKeys()).toEqual([]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('stores the same bytes once for two firmwares, and removes them with the last one', async () => {
    const one = await upload('1.0', { bytes: 'same bytes' });
    const other = await s.prototypes.create(admin, { name: 'Other board' });
    const two = await s.firmwares.upload(
      admin,
      other.id,
      { name: 'copy', version: '9' },
      Readable.from([Buffer.from('same bytes')]),
    );
    expect(two.sha256).toBe(one.sha256);
    expect(await blobKeys()).toEqual([one.sha256]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);

    await s.firmwares.delete(admin, one.id, { force: false });
    expect(await blobKeys()).toEqual([one.sha256]);
    await s.firmwares.delete(admin, two.id, { force: false });
    expect(await blobKeys()).toEqual([]);
  });

  it('takes prerequisites of the same prototype, without repeats', async () => {
    const a = await upload('1.0');
    const b = await upload('1.1', { prerequisites: [a.id, a.id] });
    expect(b.prerequisites).toEqual([a.id]);
  });

  it('refuses a prerequisite from another prototype', async () => {
    const other = await s.prototypes.create(admin, { name: 'Other' });
    const foreign = await s.firmwares.upload(
      admin,
      other.id,
      { name: 'x', version: '1' },
      Readable.from([Buffer.from('x')]),
    );
    const error = await failure(upload('1.0', { prerequisites: [foreign.id] }));
    expect(error.code).toBe('invalid_input');
  });
});

describe('version rules on upload', () => {
  it.each<[string, VersionPolicy, string[], string, ErrorCode | undefined]>([
    ['a new version', 'any', ['1.0'], '2.0', undefined],
    ['a lower version under any', 'any', ['2.0'], '1.0', undefined],
    ['an unordered version under any', 'any', ['1.0'], 'final', undefined],
    ['a duplicate under any', 'any', ['1.0', '2.0'], '1.0', 'duplicate'],
    ['a duplicate unordered version', 'any', ['final'], 'final', 'duplicate'],
    ['same precedence but another string under any', 'any', ['1.0'], 'v1', undefined],
    ['a higher version under increasing', 'increasing', ['1.0', '1.9'], '1.10', undefined],
    ['a first version under increasing', 'increasing', [], '0.1', undefined],
    ['a duplicate under increasing', 'increasing', ['1.0'], '1.0', 'duplicate'],
    ['a lower version under increasing', 'increasing', ['1.0', '2.0'], '1.5', 'version_not_higher'],
    ['an equal precedence under increasing', 'increasing', ['1.0'], 'v1', 'version_not_higher'],
    ['0.1 after 0.01 under increasing', 'increasing', ['0.01'], '0.1', 'version_not_higher'],
    ['a release after its pre-release', 'increasing', ['1.0.0-rc.1'], '1.0.0', undefined],
    ['a pre-release after its release', 'increasing', ['1.0.0'], '1.0.0-rc.2', 'version_not_higher'],
    ['build metadata only', 'increasing', ['1.0.0+1'], '1.0.0+2', 'version_not_higher'],
    ['an unordered version under increasing', 'increasing', ['1.0'], 'final', 'invalid_input'],
    ['an unordered first version under increasing', 'increasing', [], 'final', 'invalid_input'],
  ])('%s', async (_label, policy, existing, version, code) => {
    await setPolicy(policy);
    for (const earlier of existing) await upload(earlier);
    const attempt = upload(version, { bytes: `another build of ${version}` });
    if (code === undefined) {
      expect((await attempt).version).toBe(version);
    } else {
      expect((await failure(attempt)).code).toBe(code);
      expect((await s.repositories.firmwares.listByPrototype(prototype.id)).map((f) => f.version)).toEqual(existing);
    }
  });

  it('checks the rules again at insert time, against firmwares that arrived meanwhile', async () => {
    await setPolicy('increasing');
    const firmwares = s.repositories.firmwares;
    const insert = firmwares.insert.bind(firmwares);
    // Another upload of 3.0 lands between the early check and the insert.
    firmwares.insert = async (firmware, check) => {
      firmwares.insert = insert;
      await upload('3.0', { bytes: 'racing upload' });
      return insert(firmware, check);
    };
    const error = await failure(upload('2.0'));
    expect(error.code).toBe('version_not_higher');
    const stored = await firmwares.listByPrototype(prototype.id);
    expect(stored.map((f) => f.version)).toEqual(['3.0']);
    expect(await blobKeys()).toEqual([sha256('racing upload')]);
  });
});

describe('assertVersionAllowed', () => {
  const existing = (versions: string[]) => versions.map((version) => ({ version }) as Firmware);

  it.each<[VersionPolicy, string[], string, ErrorCode | undefined]>([
    ['any', [], 'anything', undefined],
    ['any', ['1'], '1', 'duplicate'],
    ['increasing', ['1', '3', '2'], '2.5', 'version_not_higher'],
    ['increasing', ['1', '3', '2'], '3.0.1', undefined],
    ['increasing', ['1'], '1.0.0', 'version_not_higher'],
    ['increasing', ['1'], '1-x', 'version_not_higher'],
    ['increasing', ['1'], '1_x', 'invalid_input'],
  ])('%s over %j, %s: %s', (policy, versions, version, code) => {
    const check = () => assertVersionAllowed(policy, existing(versions), version);
    if (code === undefined) expect(check).not.toThrow();
    else expect(check).toThrow(expect.objectContaining({ code }));
  });
});

describe('FirmwareService read, update and delete', () => {
  it('lists by version, not by upload order', async () => {
    for (const version of ['1.10', 'beta', '1.9', '0.01', '1.0.0-rc.1']) await upload(version);
    expect((await s.firmwares.list(admin, prototype.id)).map((f) => f.version)).toEqual([
      '0.01',
      '1.0.0-rc.1',
      '1.9',
      '1.10',
      'beta',
    ]);
  });

  it('updates name, release note and prerequisites, and keeps the rest', async () => {
    const a = await upload('1.0');
    const b = await upload('1.1');
    const updated = await s.firmwares.update(admin, b.id, {
      name: ' new ',
      releaseNote: 'notes',
      prerequisites: [a.id],
    });
    expect(updated).toEqual({ ...b, name: 'new', releaseNote: 'notes', prerequisites: [a.id] });
    expect(await s.firmwares.get(admin, b.id)).toEqual(updated);
    expect(await s.firmwares.update(admin, b.id, {})).toEqual(updated);
  });

  it.each<[string, (ids: { self: string; foreign: string }) => string[]]>([
    ['itself', ({ self }) => [self]],
    ['a firmware of another prototype', ({ foreign }) => [foreign]],
    ['an unknown firmware', () => ['FZZZZZZZZZZZ']],
  ])('refuses %s as prerequisite on update', async (_label, prerequisites) => {
    const self = await upload('1.0');
    const other = await s.prototypes.create(admin, { name: 'Other' });
    const foreign = await s.firmwares.upload(
      admin,
      other.id,
      { name: 'x', version: '1' },
      Readable.from([Buffer.from('x')]),
    );
    const error = await failure(
      s.firmwares.update(admin, self.id, { prerequisites: prerequisites({ self: self.id, foreign: foreign.id }) }),
    );
    expect(error.code).toBe('invalid_input');
    expect((await s.firmwares.get(admin, self.id)).prerequisites).toBe('all');
  });

  it.each([
    ['get', () => s.firmwares.get(admin, 'FZZZZZZZZZZZ')],
    ['update', () => s.firmwares.update(admin, 'FZZZZZZZZZZZ', { name: 'x' })],
    ['delete', () => s.firmwares.delete(admin, 'FZZZZZZZZZZZ', { force: true })],
    ['openForDownload', () => s.firmwares.openForDownload('FZZZZZZZZZZZ')],
    ['list of an unknown prototype', () => s.firmwares.list(admin, 'PZZZZZZZZZZZ')],
  ])('%s of an unknown id is not_found', async (_label, call) => {
    expect((await failure(call())).code).toBe('not_found');
  });

  it('reads the bytes, whole or a range', async () => {
    const firmware = await upload('1.0', { bytes: '0123456789' });
    const read = async (range?: { start: number; end: number }) => {
      const chunks: Buffer[] = [];
      for await (const chunk of await s.firmwares.readBytes(firmware, range)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString();
    };
    expect(await read()).toBe('0123456789');
    expect(await read({ start: 3, end: 5 })).toBe('345');
  });

  describe('delete', () => {
    let a: Firmware;
    let b: Firmware;

    beforeEach(async () => {
      a = await upload('1.0');
      b = await upload('1.1', { prerequisites: [a.id] });
    });

    it('refuses a firmware a device runs, without force', async () => {
      const device = await s.devices.create(admin, prototype.id, { name: 'dev' });
      const actor = await s.deviceSelf.authenticate(device.id, device.key);
      await s.deviceSelf.reportFirmware(actor, device.id, '1.1');
      const error = await failure(s.firmwares.delete(admin, b.id, { force: false }));
      expect(error.code).toBe('in_use');
      expect(error.message).toContain(`devices ${device.id} run it`);
      expect(await s.repositories.firmwares.get(b.id)).toBeDefined();
      expect(await blobKeys()).toContain(b.sha256);
    });

    it('refuses a firmware that another lists as prerequisite, without force', async () => {
      const error = await failure(s.firmwares.delete(admin, a.id, { force: false }));
      expect(error.code).toBe('in_use');
      expect(error.message).toContain(`firmwares ${b.id} list it as prerequisite`);
      expect(await s.repositories.firmwares.get(a.id)).toBeDefined();
    });

    it('with force, deletes it: its devices run an unknown firmware, lists lose it, the file goes', async () => {
      const device = await s.devices.create(admin, prototype.id, { name: 'dev' });
      const actor = await s.deviceSelf.authenticate(device.id, device.key);
      await s.deviceSelf.reportFirmware(actor, device.id, '1.0');
      await s.firmwares.delete(admin, a.id, { force: true });

      expect(await s.repositories.firmwares.get(a.id)).toBeUndefined();
      expect((await s.repositories.firmwares.get(b.id))?.prerequisites).toEqual([]);
      expect((await s.devices.get(admin, device.id)).reported).toMatchObject({ firmwareId: undefined, version: '1.0' });
      expect(await blobKeys()).toEqual([b.sha256]);
    });

    it('deletes an unused firmware without force', async () => {
      await s.firmwares.delete(admin, b.id, { force: false });
      expect(await s.repositories.firmwares.get(b.id)).toBeUndefined();
      expect(await blobKeys()).toEqual([a.sha256]);
    });
  });
});
