import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../storage/local-blob-store.js';
import { DomainError, type ErrorCode } from '../errors.js';
import type { Actor, Prototype, VersionPolicy } from '../model.js';
import { servicesOver } from '../testing/fakes.js';

const admin: Actor = { kind: 'admin' };

let root: string;
let store: LocalBlobStore;
let s: ReturnType<typeof servicesOver>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fota-prototypes-'));
  store = new LocalBlobStore(root);
  await store.open();
  s = servicesOver(store);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

async function withVersions(versions: string[]): Promise<Prototype> {
  const prototype = await s.prototypes.create(admin, { name: 'Board' });
  for (const version of versions) {
    await s.firmwares.upload(
      admin,
      prototype.id,
      { name: 'fw', version },
      Readable.from([Buffer.from(`bytes ${version}`)]),
    );
  }
  return prototype;
}

async function blobKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const { sha256 } of store.entries()) keys.push(sha256);
  return keys;
}

describe('PrototypeService.create', () => {
  it('fills defaults and trims', async () => {
    const prototype = await s.prototypes.create(admin, { name: '  LinkIt 7697 ' });
    expect(prototype).toMatchObject({ name: 'LinkIt 7697', description: '', versionPolicy: 'any' });
    expect(prototype.id).toMatch(/^P[A-Za-z0-9]{11}$/);
    expect(await s.prototypes.get(admin, prototype.id)).toEqual(prototype);
    expect(await s.prototypes.list(admin)).toEqual([prototype]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an empty name', { name: '' }, /name is required/],
    ['a name of 101 characters', { name: 'n'.repeat(101) }, /at most 100/],
    ['an unknown policy', { name: 'x', versionPolicy: 'strict' }, /versionPolicy must be one of any, increasing/],
    ['a description with a NUL', { name: 'x', description: 'a\0' }, /control characters/],
  ])('refuses %s', async (_label, input, message) => {
    const error = await failure(s.prototypes.create(admin, input as { name: string }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toMatch(message);
    expect(await s.prototypes.list(admin)).toEqual([]);
  });
});

describe('switching a prototype to the increasing policy', () => {
  it.each<[string, string[], ErrorCode | undefined, RegExp | undefined]>([
    ['no firmware yet', [], undefined, undefined],
    ['increasing history', ['0.1', '0.9', '1.0.0-rc.1', '1.0', '1.10'], undefined, undefined],
    ['a version lower than an earlier one', ['1.0', '2.0', '1.5'], 'in_use', /"1.5" was uploaded after "2.0"/],
    ['equal precedence', ['1.0', 'v1'], 'in_use', /"v1" was uploaded after "1.0"/],
    ['0.1 after 0.01', ['0.01', '0.1'], 'in_use', /"0.1" was uploaded after "0.01"/],
    ['an unordered version', ['1.0', 'final'], 'in_use', /"final" cannot be ordered/],
  ])('with %s: %s', async (_label, versions, code, message) => {
    const prototype = await withVersions(versions);
    const attempt = s.prototypes.update(admin, prototype.id, { versionPolicy: 'increasing' });
    if (code === undefined) {
      expect((await attempt).versionPolicy).toBe('increasing');
    } else {
      const error = await failure(attempt);
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message!);
      expect((await s.prototypes.get(admin, prototype.id)).versionPolicy).toBe('any');
    }
  });

  it.each<[VersionPolicy, VersionPolicy]>([
    ['increasing', 'any'],
    ['increasing', 'increasing'],
  ])('from %s to %s needs no check', async (from, to) => {
    const prototype = await withVersions([]);
    await s.prototypes.update(admin, prototype.id, { versionPolicy: from });
    await s.firmwares.upload(admin, prototype.id, { name: 'a', version: '2' }, Readable.from([Buffer.from('a')]));
    expect((await s.prototypes.update(admin, prototype.id, { versionPolicy: to })).versionPolicy).toBe(to);
  });

  it('keeps the name and description of an update that only changes the policy', async () => {
    const prototype = await s.prototypes.create(admin, { name: 'Board', description: 'about' });
    const updated = await s.prototypes.update(admin, prototype.id, { versionPolicy: 'increasing' });
    expect(updated).toEqual({ ...prototype, versionPolicy: 'increasing' });
  });
});

describe('PrototypeService.delete', () => {
  it('deletes an empty prototype without force', async () => {
    const prototype = await withVersions([]);
    await s.prototypes.delete(admin, prototype.id, { force: false });
    expect(await s.prototypes.list(admin)).toEqual([]);
  });

  it.each<[string, boolean, string[]]>([
    ['a device', true, []],
    ['a firmware', false, ['1']],
  ])('refuses a prototype with %s, without force', async (_label, withDevice, versions) => {
    const prototype = await withVersions(versions);
    if (withDevice) await s.devices.create(admin, prototype.id, { name: 'dev' });
    const error = await failure(s.prototypes.delete(admin, prototype.id, { force: false }));
    expect(error.code).toBe('in_use');
    expect(error.message).toContain(`${withDevice ? 1 : 0} device(s) and ${versions.length} firmware(s)`);
    expect(await s.prototypes.get(admin, prototype.id)).toEqual(prototype);
  });

  it('with force, deletes its devices, firmwares and their files, but not files other prototypes use', async () => {
    const doomed = await withVersions(['1', '2']);
    const kept = await s.prototypes.create(admin, { name: 'Kept' });
    const shared = await s.firmwares.upload(
      admin,
      kept.id,
      { name: 'same bytes as 1', version: '1' },
      Readable.from([Buffer.from('bytes 1')]),
    );
    const device = await s.devices.create(admin, doomed.id, { name: 'dev' });

    await s.prototypes.delete(admin, doomed.id, { force: true });
    expect((await s.prototypes.list(admin)).map((p) => p.id)).toEqual([kept.id]);
    expect(await s.repositories.devices.get(device.id)).toBeUndefined();
    expect(await s.repositories.firmwares.listByPrototype(doomed.id)).toEqual([]);
    expect(await blobKeys()).toEqual([shared.sha256]);
  });

  it.each([
    ['get', () => s.prototypes.get(admin, 'PZZZZZZZZZZZ')],
    ['update', () => s.prototypes.update(admin, 'PZZZZZZZZZZZ', { name: 'x' })],
    ['delete', () => s.prototypes.delete(admin, 'PZZZZZZZZZZZ', { force: true })],
  ])('%s of an unknown id is not_found', async (_label, call) => {
    expect((await failure(call())).code).toBe('not_found');
  });
});

describe('LinkIt Connect 7681 prototypes', () => {
  it('are increasing by default and keep that policy', async () => {
    const prototype = await s.prototypes.create(admin, { name: 'Sensor', board: 'linkit7681' });
    expect(prototype).toMatchObject({ board: 'linkit7681', versionPolicy: 'increasing' });
    expect((await s.prototypes.get(admin, prototype.id)).board).toBe('linkit7681');
    const refused = await failure(s.prototypes.update(admin, prototype.id, { versionPolicy: 'any' }));
    expect(refused.code).toBe('invalid_input');
    expect(refused.message).toMatch(/keeps the increasing version policy/);
    expect(
      (await failure(s.prototypes.create(admin, { name: 'x', board: 'linkit7681', versionPolicy: 'any' }))).code,
    ).toBe('invalid_input');
    expect((await s.prototypes.create(admin, { name: 'Lamp' })).board).toBe('mcs');
  });

  it('refuse a firmware version that does not fit the board’s major.minor bytes', async () => {
    const prototype = await s.prototypes.create(admin, { name: 'Sensor', board: 'linkit7681' });
    const upload = (version: string) =>
      s.firmwares.upload(admin, prototype.id, { name: 'fw', version }, Readable.from([Buffer.from(`fw ${version}`)]));
    for (const version of ['1.2.3', '256.0', '1.256', '1.07', 'v1.61', '1']) {
      const error = await failure(upload(version));
      expect(error.code).toBe('invalid_input');
      expect(error.message).toMatch(/does not fit a LinkIt 7681 board: it must be major\.minor, both 0 to 255/);
    }
    expect((await upload('1.61')).version).toBe('1.61');
    expect((await failure(upload('1.60'))).code).toBe('version_not_higher');
    expect((await upload('255.255')).version).toBe('255.255');
  });
});
