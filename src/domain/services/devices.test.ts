import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../storage/local-blob-store.js';
import { DomainError } from '../errors.js';
import type { Actor, Prototype } from '../model.js';
import { servicesOver } from '../testing/fakes.js';

const admin: Actor = { kind: 'admin' };

let root: string;
let s: ReturnType<typeof servicesOver>;
let prototype: Prototype;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fota-devices-'));
  const store = new LocalBlobStore(root);
  await store.open();
  s = servicesOver(store);
  prototype = await s.prototypes.create(admin, { name: 'Board' });
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

describe('DeviceService', () => {
  it('creates a device with an MCS id and key, never reported', async () => {
    const device = await s.devices.create(admin, prototype.id, { name: ' Kitchen ', description: 'by the door' });
    expect(device).toMatchObject({
      prototypeId: prototype.id,
      name: 'Kitchen',
      description: 'by the door',
      reported: undefined,
    });
    expect(device.id).toMatch(/^D[A-Za-z0-9]{7}$/);
    expect(device.key).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(await s.devices.get(admin, device.id)).toEqual(device);
    expect(await s.devices.list(admin, prototype.id)).toEqual([device]);
  });

  it.each<[string, () => Promise<unknown>, string]>([
    ['create under an unknown prototype', () => s.devices.create(admin, 'PZZZZZZZZZZZ', { name: 'x' }), 'not_found'],
    ['list of an unknown prototype', () => s.devices.list(admin, 'PZZZZZZZZZZZ'), 'not_found'],
    ['get of an unknown device', () => s.devices.get(admin, 'DZZZZZZZ'), 'not_found'],
    ['update of an unknown device', () => s.devices.update(admin, 'DZZZZZZZ', { name: 'x' }), 'not_found'],
    ['delete of an unknown device', () => s.devices.delete(admin, 'DZZZZZZZ'), 'not_found'],
    ['rotateKey of an unknown device', () => s.devices.rotateKey(admin, 'DZZZZZZZ'), 'not_found'],
    ['create without a name', () => s.devices.create(admin, prototype.id, { name: '' }), 'invalid_input'],
    [
      'create with a long description',
      () => s.devices.create(admin, prototype.id, { name: 'x', description: 'd'.repeat(2001) }),
      'invalid_input',
    ],
  ])('%s fails with %s', async (_label, call, code) => {
    expect((await failure(call())).code).toBe(code);
  });

  it('updates only the fields given', async () => {
    const device = await s.devices.create(admin, prototype.id, { name: 'a', description: 'b' });
    expect(await s.devices.update(admin, device.id, { description: 'c' })).toEqual({ ...device, description: 'c' });
    expect(await s.devices.update(admin, device.id, { name: 'd' })).toEqual({ ...device, name: 'd', description: 'c' });
  });

  it('rotating the key stops the old key at once', async () => {
    const device = await s.devices.create(admin, prototype.id, { name: 'a' });
    const rotated = await s.devices.rotateKey(admin, device.id);
    expect(rotated.key).not.toBe(device.key);
    expect(rotated.key).toMatch(/^[A-Za-z0-9]{16}$/);
    expect((await failure(s.deviceSelf.authenticate(device.id, device.key))).code).toBe('unauthenticated');
    expect(await s.deviceSelf.authenticate(device.id, rotated.key)).toEqual({
      kind: 'device',
      deviceId: device.id,
      prototypeId: prototype.id,
    });
  });

  it('deletes a device', async () => {
    const device = await s.devices.create(admin, prototype.id, { name: 'a' });
    await s.devices.delete(admin, device.id);
    expect(await s.devices.list(admin, prototype.id)).toEqual([]);
    expect((await failure(s.deviceSelf.authenticate(device.id, device.key))).code).toBe('not_found');
  });
});
