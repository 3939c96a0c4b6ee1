import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../storage/local-blob-store.js';
import type { DeviceConnection } from '../connections.js';
import type { DomainEvent } from '../events.js';
import type { FotaCommand, Protocol } from '../model.js';
import { servicesOver } from '../testing/fakes.js';
import { InMemoryPushRepository } from '../testing/push-repository.js';
import { PushService } from './pushes.js';

const admin = { kind: 'admin' } as const;

/** A connection that records the commands it is given, and can acknowledge or fail them. */
class RecordingConnection implements DeviceConnection {
  readonly commands: FotaCommand[] = [];
  readonly acknowledge: Array<() => void> = [];
  closed: string | undefined;
  failNext = false;

  constructor(
    readonly deviceId: string,
    readonly protocol: Protocol,
  ) {}

  async sendFota(command: FotaCommand, onDelivered?: () => void): Promise<void> {
    if (this.failNext) throw new Error('socket closed');
    this.commands.push(command);
    if (onDelivered) this.acknowledge.push(onDelivered);
  }

  close(reason: string): void {
    this.closed = reason;
  }
}

let dir: string;
let world: Awaited<ReturnType<typeof setup>>;

async function setup() {
  const blobStore = new LocalBlobStore(dir);
  await blobStore.open();
  const services = servicesOver(blobStore);
  const repository = new InMemoryPushRepository();
  const events: DomainEvent[] = [];
  services.events.subscribe((event) => void events.push(event));
  const pushes = new PushService({
    pushes: repository,
    devices: services.repositories.devices,
    firmwares: services.repositories.firmwares,
    prototypes: services.repositories.prototypes,
    connections: services.connections,
    events: services.events,
    clock: services.clock,
    timeoutMs: 10_000,
    downloadUrl: (firmwareId, deviceId) => `http://fw.example/fw/${firmwareId}?d=${deviceId}`,
    onError: (error) => {
      throw error;
    },
  });
  pushes.listen();
  const prototype = await services.prototypes.create(admin, { name: 'p' });
  const upload = (version: string, prerequisites?: string[]) =>
    services.firmwares.upload(
      admin,
      prototype.id,
      { name: version, version, prerequisites },
      Readable.from([Buffer.from(`fw ${version}`)]),
    );
  const one = await upload('1');
  const two = await upload('2', [one.id]);
  const device = async (reported?: string) => {
    const created = await services.devices.create(admin, prototype.id, { name: 'd' });
    if (reported)
      await services.deviceSelf.reportFirmware(
        { kind: 'device', deviceId: created.id, prototypeId: prototype.id },
        created.id,
        reported,
      );
    return created;
  };
  const connect = async (deviceId: string, protocol: Protocol = 'tcp') => {
    const connection = new RecordingConnection(deviceId, protocol);
    services.connections.attach({ kind: 'device', deviceId, prototypeId: prototype.id }, connection);
    await settle();
    return connection;
  };
  const statusOf = async (pushId: string, deviceId: string) =>
    (await repository.get(pushId))!.targets.find((target) => target.deviceId === deviceId)!;
  return { services, pushes, repository, events, prototype, one, two, device, connect, statusOf };
}

/** Lets event listeners and queued work run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fota-push-'));
  world = await setup();
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('PushService', () => {
  it('sends to a connected device once and answers sent, with the device named in the URL', async () => {
    const device = await world.device('1');
    const connection = await world.connect(device.id);
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    expect(push.targets[0]!.status).toBe('sent');
    expect(connection.commands).toEqual([
      {
        timestamp: expect.any(Number),
        version: '2',
        md5: world.two.md5,
        url: `http://fw.example/fw/${world.two.id}?d=${device.id}`,
      },
    ]);
  });

  it.each([
    ['offline without queueOffline', false, 'offline'],
    ['queued with queueOffline', true, 'queued'],
  ])('answers a disconnected device %s', async (_case, queueOffline, status) => {
    const device = await world.device('1');
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline });
    expect(push.targets[0]!.status).toBe(status);
  });

  it('sends a queued push when the device connects, and only once', async () => {
    const device = await world.device('1');
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline: true });
    const first = await world.connect(device.id);
    expect(first.commands).toHaveLength(1);
    expect((await world.statusOf(push.id, device.id)).status).toBe('sent');
    const second = await world.connect(device.id);
    expect(second.commands).toHaveLength(0);
  });

  it('answers incompatible for a device not on a prerequisite, unless forced', async () => {
    const device = await world.device();
    await world.connect(device.id);
    const refused = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    expect(refused.targets[0]!.status).toBe('incompatible');
    const forced = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], force: true });
    expect(forced.targets[0]!.status).toBe('sent');
  });

  it('follows acknowledgement, download and report to upgraded', async () => {
    const device = await world.device('1');
    const connection = await world.connect(device.id, 'mqtt');
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    connection.acknowledge[0]!();
    await settle();
    expect((await world.statusOf(push.id, device.id)).status).toBe('delivered');
    world.pushes.downloadStarted(device.id, world.two.id);
    await settle();
    expect((await world.statusOf(push.id, device.id)).status).toBe('downloading');
    await world.services.deviceSelf.reportFirmware(
      { kind: 'device', deviceId: device.id, prototypeId: world.prototype.id },
      device.id,
      '2',
    );
    await settle();
    const target = await world.statusOf(push.id, device.id);
    expect(target.history.map((step) => step.status)).toEqual([
      'queued',
      'sent',
      'delivered',
      'downloading',
      'upgraded',
    ]);
    expect(
      world.events
        .filter((event) => event.type === 'push.progress')
        .map((event) => event.type === 'push.progress' && event.status),
    ).toEqual(['queued', 'sent', 'delivered', 'downloading', 'upgraded']);
  });

  it('fails when the device reports another version, and terminal states stay terminal', async () => {
    const device = await world.device('1');
    await world.connect(device.id);
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    const self = { kind: 'device', deviceId: device.id, prototypeId: world.prototype.id } as const;
    await world.services.deviceSelf.reportFirmware(self, device.id, '1');
    await settle();
    expect(await world.statusOf(push.id, device.id)).toMatchObject({
      status: 'failed',
      reason: 'reported version 1 instead of 2',
    });
    await world.services.deviceSelf.reportFirmware(self, device.id, '2');
    await settle();
    expect((await world.statusOf(push.id, device.id)).status).toBe('failed');
  });

  it('fails a target whose command could not be written', async () => {
    const device = await world.device('1');
    const connection = await world.connect(device.id);
    connection.failNext = true;
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    expect(push.targets[0]).toMatchObject({ status: 'failed', reason: expect.stringContaining('connection closed') });
  });

  it('supersedes an older active push of the same device', async () => {
    const device = await world.device('1');
    await world.connect(device.id);
    const older = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    const newer = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    expect(await world.statusOf(older.id, device.id)).toMatchObject({
      status: 'failed',
      reason: `superseded by push ${newer.id}`,
    });
  });

  it('fails sent targets whose deadline passed', async () => {
    const device = await world.device('1');
    await world.connect(device.id);
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    // The stepping clock moves one second a reading: read it past the 10 s timeout.
    for (let i = 0; i < 12; i++) world.services.clock.now();
    expect(await world.pushes.expireOverdue()).toBe(1);
    expect((await world.statusOf(push.id, device.id)).status).toBe('failed');
  });

  it.each([
    ['no devices', []],
    ['not a device id', ['nope']],
    ['an unknown device', ['D0000000']],
  ])('refuses %s', async (_case, deviceIds) => {
    await expect(world.pushes.create(admin, world.two.id, { deviceIds })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('refuses a device actor', async () => {
    const device = await world.device('1');
    const actor = { kind: 'device', deviceId: device.id, prototypeId: world.prototype.id } as const;
    await expect(world.pushes.create(actor, world.two.id, { deviceIds: [device.id] })).rejects.toMatchObject({
      code: 'forbidden',
    });
  });
});
