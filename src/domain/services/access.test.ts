import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../storage/local-blob-store.js';
import { isDomainError } from '../errors.js';
import type { Actor, Device, Firmware, Prototype } from '../model.js';
import { servicesOver } from '../testing/fakes.js';

/** Every administrator method of every service, called by actors that are not the administrator. */
const admin: Actor = { kind: 'admin' };

let root: string;
let s: ReturnType<typeof servicesOver>;
let prototype: Prototype;
let device: Device;
let firmware: Firmware;
let deviceActor: Actor;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fota-access-'));
  const store = new LocalBlobStore(root);
  await store.open();
  s = servicesOver(store);
  prototype = await s.prototypes.create(admin, { name: 'Board' });
  device = await s.devices.create(admin, prototype.id, { name: 'dev' });
  firmware = await s.firmwares.upload(
    admin,
    prototype.id,
    { name: 'fw', version: '1' },
    Readable.from([Buffer.from('x')]),
  );
  deviceActor = await s.deviceSelf.authenticate(device.id, device.key);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

type AdminCall = (actor: Actor) => Promise<unknown>;

const adminMethods: [string, AdminCall][] = [
  ['PrototypeService.create', (actor) => s.prototypes.create(actor, { name: 'x' })],
  ['PrototypeService.list', (actor) => s.prototypes.list(actor)],
  ['PrototypeService.get', (actor) => s.prototypes.get(actor, prototype.id)],
  ['PrototypeService.update', (actor) => s.prototypes.update(actor, prototype.id, { name: 'x' })],
  ['PrototypeService.delete', (actor) => s.prototypes.delete(actor, prototype.id, { force: true })],
  ['DeviceService.create', (actor) => s.devices.create(actor, prototype.id, { name: 'x' })],
  ['DeviceService.list', (actor) => s.devices.list(actor, prototype.id)],
  ['DeviceService.get', (actor) => s.devices.get(actor, device.id)],
  ['DeviceService.update', (actor) => s.devices.update(actor, device.id, { name: 'x' })],
  ['DeviceService.delete', (actor) => s.devices.delete(actor, device.id)],
  ['DeviceService.rotateKey', (actor) => s.devices.rotateKey(actor, device.id)],
  [
    'FirmwareService.upload',
    (actor) => s.firmwares.upload(actor, prototype.id, { name: 'x', version: '2' }, Readable.from([Buffer.from('y')])),
  ],
  ['FirmwareService.list', (actor) => s.firmwares.list(actor, prototype.id)],
  ['FirmwareService.get', (actor) => s.firmwares.get(actor, firmware.id)],
  ['FirmwareService.update', (actor) => s.firmwares.update(actor, firmware.id, { name: 'x' })],
  ['FirmwareService.delete', (actor) => s.firmwares.delete(actor, firmware.id, { force: true })],
];

const nonAdmins: [string, () => Actor][] = [
  ['the device itself', () => deviceActor],
  ['another device', () => ({ kind: 'device', deviceId: 'DZZZZZZZ', prototypeId: prototype.id })],
];

describe.each(nonAdmins)('%s', (_who, actor) => {
  it.each(adminMethods)('gets forbidden from %s, and nothing changes', async (_name, call) => {
    const before = structuredClone(s.repositories.tables);
    const error = await call(actor()).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isDomainError(error, 'forbidden')).toBe(true);
    expect(s.repositories.tables).toEqual(before);
  });
});

describe('the administrator', () => {
  it.each(adminMethods)('may call %s', async (_name, call) => {
    await call(admin);
  });
});

describe('device methods', () => {
  const deviceMethods: [string, (actor: Actor) => Promise<unknown>][] = [
    ['reportFirmware', (actor) => s.deviceSelf.reportFirmware(actor, device.id, '1')],
    ['availableFirmwares', (actor) => s.deviceSelf.availableFirmwares(actor, device.id)],
    ['availableFirmwares by version', (actor) => s.deviceSelf.availableFirmwares(actor, device.id, '1')],
    ['firmware', (actor) => s.deviceSelf.firmware(actor, device.id, firmware.id)],
    ['tcpEndpoint', (actor) => s.deviceSelf.tcpEndpoint(actor, device.id)],
  ];

  it.each(deviceMethods)('%s is forbidden to the administrator and to other devices', async (_name, call) => {
    const other: Actor = { kind: 'device', deviceId: 'DZZZZZZZ', prototypeId: prototype.id };
    for (const actor of [admin, other]) {
      const error = await call(actor).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isDomainError(error, 'forbidden')).toBe(true);
    }
  });

  it.each(deviceMethods)('%s is allowed to the device itself', async (_name, call) => {
    await expect(call(deviceActor)).resolves.toBeDefined();
  });
});

describe('roles', () => {
  const viewer: Actor = { kind: 'user', role: 'viewer', userId: 'Uviewer', name: 'viewer@example.com' };
  const developer: Actor = { kind: 'user', role: 'developer', userId: 'Udeveloper', name: 'dev@example.com' };
  const reads = new Set([
    'PrototypeService.list',
    'PrototypeService.get',
    'DeviceService.list',
    'DeviceService.get',
    'FirmwareService.list',
    'FirmwareService.get',
  ]);

  it.each(adminMethods.filter(([name]) => !reads.has(name)))(
    'a viewer gets forbidden from %s, and nothing changes',
    async (_name, call) => {
      const before = structuredClone(s.repositories.tables);
      const error = await call(viewer).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isDomainError(error, 'forbidden')).toBe(true);
      expect(s.repositories.tables).toEqual(before);
    },
  );

  it.each(adminMethods.filter(([name]) => reads.has(name)))('a viewer may call %s', async (_name, call) => {
    await call(viewer);
  });

  it.each(adminMethods)('a developer may call %s', async (_name, call) => {
    await call(developer);
  });

  it('hides device keys from a viewer only', async () => {
    expect((await s.devices.get(viewer, device.id)).key).toBe('');
    expect((await s.devices.list(viewer, prototype.id)).map((d) => d.key)).toEqual(['']);
    expect((await s.devices.get(developer, device.id)).key).toBe(device.key);
  });
});
