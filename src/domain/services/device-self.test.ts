import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../storage/local-blob-store.js';
import { DomainError } from '../errors.js';
import type { Actor, Device, Firmware, Prerequisites, Prototype } from '../model.js';
import { servicesOver } from '../testing/fakes.js';

const admin: Actor = { kind: 'admin' };

let root: string;
let s: ReturnType<typeof servicesOver>;
let prototype: Prototype;
let device: Device;
let actor: Actor;
let v1: Firmware;
let v2: Firmware;
let v3: Firmware;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fota-device-self-'));
  const store = new LocalBlobStore(root);
  await store.open();
  s = servicesOver(store, { tcpEndpoint: { host: '10.0.0.7', port: 443 } });
  prototype = await s.prototypes.create(admin, { name: 'Board' });
  // A fixed key, so the cases below are the same on every run.
  device = { ...(await s.devices.create(admin, prototype.id, { name: 'dev' })), key: 'TPJVxxxxxxxxBxBv' };
  await s.repositories.devices.update(device);
  actor = await s.deviceSelf.authenticate(device.id, device.key);
  v1 = await upload(prototype, '1');
  v2 = await upload(prototype, '2', [v1.id]);
  v3 = await upload(prototype, '3');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function upload(on: Prototype, version: string, prerequisites: Prerequisites = 'all'): Promise<Firmware> {
  return s.firmwares.upload(
    admin,
    on.id,
    { name: `fw ${version}`, version, prerequisites },
    Readable.from([Buffer.from(`${on.id} ${version}`)]),
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

const versions = (list: readonly Firmware[]): string[] => list.map((firmware) => firmware.version);

describe('DeviceSelfService.authenticate', () => {
  it.each<[string, () => [string, string | undefined], string | undefined]>([
    ['its own key', () => [device.id, device.key], undefined],
    ['a wrong key', () => [device.id, 'A'.repeat(16)], 'unauthenticated'],
    ['a key one character short', () => [device.id, device.key.slice(0, 15)], 'unauthenticated'],
    ['its key in another case', () => [device.id, 'tpjvxxxxxxxxbxbv'], 'unauthenticated'],
    ['its key with a character more', () => [device.id, 'TPJVxxxxxxxxBxBvx'], 'unauthenticated'],
    ['its key in quotes', () => [device.id, '"TPJVxxxxxxxxBxBv"'], 'unauthenticated'],
    ['an empty key', () => [device.id, ''], 'unauthenticated'],
    ['no key', () => [device.id, undefined], 'unauthenticated'],
    ['an unknown device', () => ['DZZZZZZZ', device.key], 'not_found'],
  ])('with %s', async (_label, args, code) => {
    const [deviceId, key] = args();
    const attempt = s.deviceSelf.authenticate(deviceId, key);
    if (code === undefined) {
      expect(await attempt).toEqual({ kind: 'device', deviceId: device.id, prototypeId: prototype.id });
    } else {
      expect((await failure(attempt)).code).toBe(code);
    }
  });
});

describe('DeviceSelfService.authenticateRequest', () => {
  it('hands the record it checked the key against to the rest of the request, which reads no device again', async () => {
    const devices = s.repositories.devices;
    let reads = 0;
    const get = devices.get.bind(devices);
    devices.get = (id) => {
      reads += 1;
      return get(id);
    };
    const caller = await s.deviceSelf.authenticateRequest(device.id, device.key);
    expect(caller).toEqual({ kind: 'device', deviceId: device.id, prototypeId: prototype.id, device });
    expect(versions(await s.deviceSelf.availableFirmwares(caller, device.id))).toEqual(['1', '3']);
    await s.deviceSelf.reportFirmware(caller, device.id, '1');
    await s.deviceSelf.tcpEndpoint(caller, device.id);
    expect(reads).toBe(1);
    // The plain actor of a long-lived session carries no record: each call reads the device.
    await s.deviceSelf.tcpEndpoint(actor, device.id);
    expect(reads).toBe(2);
  });

  it.each<[string, string | undefined, string]>([
    ['a wrong key', 'A'.repeat(16), 'unauthenticated'],
    ['no key', undefined, 'unauthenticated'],
  ])('refuses %s like authenticate', async (_label, key, code) => {
    expect((await failure(s.deviceSelf.authenticateRequest(device.id, key))).code).toBe(code);
  });

  it("does not let a device's record stand in for another device", async () => {
    const other = await s.devices.create(admin, prototype.id, { name: 'other' });
    const caller = await s.deviceSelf.authenticateRequest(device.id, device.key);
    expect((await failure(s.deviceSelf.availableFirmwares(caller, other.id))).code).toBe('forbidden');
  });
});

describe('DeviceSelfService firmware reports and offers', () => {
  it('a device that never reported is offered only the firmwares for all', async () => {
    expect(versions(await s.deviceSelf.availableFirmwares(actor, device.id))).toEqual(['1', '3']);
  });

  it('reporting records the firmware and changes the offer', async () => {
    const reported = await s.deviceSelf.reportFirmware(actor, device.id, '1');
    expect(reported.id).toBe(v1.id);
    expect((await s.devices.get(admin, device.id)).reported).toMatchObject({ firmwareId: v1.id, version: '1' });
    expect(versions(await s.deviceSelf.availableFirmwares(actor, device.id))).toEqual(['2', '3']);
  });

  it('refuses to record a version its prototype does not have', async () => {
    const error = await failure(s.deviceSelf.reportFirmware(actor, device.id, '9'));
    expect(error.code).toBe('not_found');
    expect((await s.devices.get(admin, device.id)).reported).toBeUndefined();
  });

  it('refuses a version that only another prototype has', async () => {
    const other = await s.prototypes.create(admin, { name: 'Other' });
    await upload(other, '7');
    expect((await failure(s.deviceSelf.reportFirmware(actor, device.id, '7'))).code).toBe('not_found');
  });

  it.each<[string, string[]]>([
    ['1', ['2', '3']],
    ['2', ['1', '3']],
    ['3', ['1']],
  ])('offers from a given version %s', async (version, expected) => {
    expect(versions(await s.deviceSelf.availableFirmwares(actor, device.id, version))).toEqual(expected);
  });

  it('offering from an unknown version is not_found', async () => {
    expect((await failure(s.deviceSelf.availableFirmwares(actor, device.id, '9'))).code).toBe('not_found');
  });

  it('under increasing, offers only higher versions', async () => {
    await s.prototypes.update(admin, prototype.id, { versionPolicy: 'increasing' });
    await s.deviceSelf.reportFirmware(actor, device.id, '2');
    expect(versions(await s.deviceSelf.availableFirmwares(actor, device.id))).toEqual(['3']);
  });

  it('after its firmware was deleted, the device is offered the firmwares for all but its version', async () => {
    await s.deviceSelf.reportFirmware(actor, device.id, '1');
    await s.firmwares.delete(admin, v1.id, { force: true });
    expect((await s.devices.get(admin, device.id)).reported).toMatchObject({ firmwareId: undefined, version: '1' });
    expect(versions(await s.deviceSelf.availableFirmwares(actor, device.id))).toEqual(['3']);
    expect(v2.prerequisites).toEqual([v1.id]);
  });
});

describe('DeviceSelfService.firmware', () => {
  it('gives a firmware of its own prototype', async () => {
    expect(await s.deviceSelf.firmware(actor, device.id, v3.id)).toEqual(v3);
  });

  it("cannot read another prototype's firmware: not found, as if it did not exist", async () => {
    const other = await s.prototypes.create(admin, { name: 'Other' });
    const foreign = await upload(other, '1');
    const error = await failure(s.deviceSelf.firmware(actor, device.id, foreign.id));
    expect(error.code).toBe('not_found');
    expect(error.message).toBe(`no firmware ${foreign.id}`);
    const unknown = await failure(s.deviceSelf.firmware(actor, device.id, 'FZZZZZZZZZZZ'));
    expect(unknown.message).toBe('no firmware FZZZZZZZZZZZ');
  });
});

describe('DeviceSelfService.tcpEndpoint', () => {
  it('gives the configured TCP command server', async () => {
    expect(await s.deviceSelf.tcpEndpoint(actor, device.id)).toEqual({ host: '10.0.0.7', port: 443 });
  });

  it('is not_found once the device is deleted, even with a valid actor', async () => {
    await s.devices.delete(admin, device.id);
    expect((await failure(s.deviceSelf.tcpEndpoint(actor, device.id))).code).toBe('not_found');
  });
});

describe('authenticateByProof (LinkIt 7681: the device encrypts with its key, never sends it)', () => {
  it('answers the identity and key only when the proof holds for the stored key', async () => {
    const seen: string[] = [];
    const identity = await s.deviceSelf.authenticateByProof(device.id, (key) => {
      seen.push(key);
      return true;
    });
    expect(identity).toEqual({ kind: 'device', deviceId: device.id, prototypeId: prototype.id, key: device.key });
    expect(seen).toEqual([device.key]);
    await expect(s.deviceSelf.authenticateByProof(device.id, () => false)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    await expect(s.deviceSelf.authenticateByProof('D0000000', () => true)).rejects.toMatchObject({ code: 'not_found' });
    // The device's prototype is for MCS boards: the LinkIt 7681 transport does not find it.
    await expect(s.deviceSelf.authenticateByProof(device.id, () => true, 'linkit7681')).rejects.toMatchObject({
      code: 'not_found',
    });
    const sensor = await s.prototypes.create(admin, { name: 'sensor', board: 'linkit7681' });
    const board = await s.devices.create(admin, sensor.id, { name: 'b' });
    expect((await s.deviceSelf.authenticateByProof(board.id, () => true, 'linkit7681')).deviceId).toBe(board.id);
  });
});
