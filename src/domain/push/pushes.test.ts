import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db, Engine } from '../../db/database.js';
import { openDatabase } from '../../db/open.js';
import { SqlDeviceRepository } from '../../db/repositories/devices.js';
import { SqlFirmwareRepository } from '../../db/repositories/firmwares.js';
import { SqlPrototypeRepository } from '../../db/repositories/prototypes.js';
import { SqlPushRepository } from '../../db/repositories/pushes.js';
import { LocalBlobStore } from '../../storage/local-blob-store.js';
import { LocalEventBus, type DomainEvent } from '../events.js';
import type { DeviceConnection } from '../gateway.js';
import type { DeviceCommand, Protocol } from '../model.js';
import type { PushRepository } from '../ports.js';
import type { PushTimeouts } from '../push.js';
import { DeviceConnections } from '../services/connections.js';
import { DeviceSelfService } from '../services/device-self.js';
import { DeviceService } from '../services/devices.js';
import { FirmwareBlobs } from '../services/firmware-blobs.js';
import { FirmwareService } from '../services/firmwares.js';
import { PrototypeService } from '../services/prototypes.js';
import { PushService } from '../services/pushes.js';
import { SteppingClock } from '../testing/fakes.js';

const admin = { kind: 'admin' } as const;
const timeouts: PushTimeouts = { queued: 100_000, sent: 10_000, delivered: 20_000, downloading: 30_000 };

/** A connection that records the commands it is given, and can fail them. */
class RecordingConnection implements DeviceConnection {
  readonly commands: DeviceCommand[] = [];
  closed: string | undefined;
  failNext = false;

  constructor(
    readonly deviceId: string,
    readonly protocol: Protocol,
  ) {}

  async send(command: DeviceCommand): Promise<void> {
    if (this.failNext) throw new Error('socket closed');
    this.commands.push(command);
  }

  close(reason: string): void {
    this.closed = reason;
  }
}

/** A point where the next call of a repository method stops until released. */
interface Hold {
  /** Resolves once the call stopped there. */
  readonly reached: Promise<void>;
  release(): void;
}

function newHold(): Hold & { stop(): Promise<void> } {
  let reach = () => {};
  let release = () => {};
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    reached,
    release,
    stop: () => {
      reach();
      return released;
    },
  };
}

/**
 * The push repository, counting the reads a device connect may cause; `hold` stops its next
 * `insert` before it writes, or its next `activeTargets` after it read.
 */
function counting(repository: PushRepository) {
  const calls = { activeTargets: 0 };
  const holds: { insert?: ReturnType<typeof newHold>; activeTargets?: ReturnType<typeof newHold> } = {};
  const wrapped: PushRepository = Object.create(repository);
  wrapped.activeTargets = async (ids) => {
    calls.activeTargets++;
    const read = await repository.activeTargets(ids);
    const hold = holds.activeTargets;
    holds.activeTargets = undefined;
    await hold?.stop();
    return read;
  };
  wrapped.insert = async (...args) => {
    const hold = holds.insert;
    holds.insert = undefined;
    await hold?.stop();
    return repository.insert(...args);
  };
  const hold = (method: keyof typeof holds): Hold => (holds[method] = newHold());
  return { wrapped, calls, hold };
}

let dir: string;
let db: Db;
let engine: Engine;
let world: Awaited<ReturnType<typeof setup>>;

/** The domain services over a real SQLite file and blob folder, as the composition root wires them. */
async function setup(batchSize = 500) {
  ({ db, engine } = await openDatabase({ dataDir: join(dir, 'data') }));
  const blobStore = new LocalBlobStore(join(dir, 'blobs'));
  await blobStore.open();
  const clock = new SteppingClock();
  const errors: unknown[] = [];
  const events = new LocalEventBus((error) => errors.push(error));
  const recorded: DomainEvent[] = [];
  events.subscribe((event) => void recorded.push(event));
  const repositories = {
    prototypes: new SqlPrototypeRepository(db),
    devices: new SqlDeviceRepository(db),
    firmwares: new SqlFirmwareRepository(db),
  };
  const { wrapped, calls, hold } = counting(new SqlPushRepository(db, engine));
  const blobs = new FirmwareBlobs(blobStore, repositories.firmwares);
  const connections = new DeviceConnections({ events, clock });
  const prototypes = new PrototypeService({ ...repositories, blobs, clock });
  const devices = new DeviceService({
    devices: repositories.devices,
    prototypes,
    channels: { upsert: async () => {}, list: async () => [], listByPrototype: async () => new Map() },
    connections,
    clock,
  });
  const firmwares = new FirmwareService({
    firmwares: repositories.firmwares,
    prototypes,
    blobs,
    blobStore,
    clock,
    maxFirmwareBytes: 1024 * 1024,
    listRunningDevices: (firmwareId) => repositories.devices.listRunning(firmwareId),
  });
  const deviceSelf = new DeviceSelfService({
    ...repositories,
    clock,
    events,
    tcpEndpoint: { host: '127.0.0.1', port: 4443 },
  });
  const pushes = new PushService({
    pushes: wrapped,
    ...repositories,
    gateway: connections,
    events,
    clock,
    timeouts,
    downloadUrl: (token) => `http://fw.example/fw/p/${token}`,
    onError: (error) => errors.push(error),
    batchSize,
  });
  await pushes.listen();

  const prototype = await prototypes.create(admin, { name: 'p' });
  const upload = (version: string, prerequisites?: string[]) =>
    firmwares.upload(
      admin,
      prototype.id,
      { name: version, version, prerequisites },
      Readable.from([Buffer.from(`fw ${version}`)]),
    );
  const one = await upload('1');
  const two = await upload('2', [one.id]);
  const self = (deviceId: string) => ({ kind: 'device', deviceId, prototypeId: prototype.id }) as const;
  const device = async (reported?: string) => {
    const created = await devices.create(admin, prototype.id, { name: 'd' });
    if (reported) await deviceSelf.reportFirmware(self(created.id), created.id, reported);
    return created;
  };
  const connect = async (deviceId: string, protocol: Protocol = 'tcp', wait = true) => {
    const connection = new RecordingConnection(deviceId, protocol);
    connections.attach(self(deviceId), connection);
    if (wait) await settle();
    return connection;
  };
  const targetOf = async (pushId: string, deviceId: string) =>
    (await pushes.targets(admin, pushId, {})).targets.find((target) => target.deviceId === deviceId)!;
  const report = async (deviceId: string, version: string) => {
    await deviceSelf.reportFirmware(self(deviceId), deviceId, version);
    await settle();
  };
  const tokenOf = (command: DeviceCommand) => command.url.slice('http://fw.example/fw/p/'.length);
  return {
    pushes,
    devices,
    connections,
    events,
    recorded,
    errors,
    clock,
    calls,
    hold,
    prototype,
    one,
    two,
    device,
    connect,
    targetOf,
    report,
    tokenOf,
  };
}

/** Lets event listeners, batches and queued work run. */
const settle = async (turns = 5) => {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fota-push-'));
  world = await setup();
});
afterEach(async () => {
  expect(world.errors).toEqual([]);
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('PushService', () => {
  it('refuses a push to a viewer, sends nothing, and records a developer as its creator', async () => {
    const device = await world.device('1');
    const connection = await world.connect(device.id);
    const viewer = { kind: 'user', role: 'viewer', userId: 'Uv', name: 'viewer@example.com' } as const;
    await expect(world.pushes.create(viewer, world.two.id, { deviceIds: [device.id] })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await settle();
    expect(connection.commands).toEqual([]);
    expect(await world.pushes.listByFirmware(viewer, world.two.id)).toEqual([]);
    const developer = { kind: 'user', role: 'developer', userId: 'Ud', name: 'dev@example.com' } as const;
    const push = await world.pushes.create(developer, world.two.id, { deviceIds: [device.id] });
    expect(push.createdBy).toBe('dev@example.com');
  });

  it('answers the summary at once, then sends to a connected device once with a token URL', async () => {
    const device = await world.device('1');
    const connection = await world.connect(device.id);
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    expect(push).toMatchObject({ phase: 'pending', total: 1, selection: 'ids', counts: { queued: 1, sent: 0 } });
    await settle();
    expect(connection.commands).toEqual([
      {
        kind: 'fota',
        pushId: push.id,
        firmwareId: world.two.id,
        timestamp: expect.any(Number),
        version: '2',
        size: world.two.size,
        md5: world.two.md5,
        sha256: world.two.sha256,
        url: expect.stringMatching(/^http:\/\/fw\.example\/fw\/p\/[A-Za-z0-9]{21}$/),
      },
    ]);
    expect(await world.targetOf(push.id, device.id)).toMatchObject({ status: 'sent', reason: 'over tcp' });
    expect(await world.pushes.get(admin, push.id)).toMatchObject({ phase: 'in_progress', counts: { sent: 1 } });
  });

  it.each([
    ['offline without queueOffline', false, 'offline', 'finished'],
    ['queued with queueOffline', true, 'queued', 'pending'],
  ])('answers a disconnected device %s', async (_case, queueOffline, status, phase) => {
    const device = await world.device('1');
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline });
    expect(push.counts[status as 'offline' | 'queued']).toBe(1);
    expect(push.phase).toBe(phase);
  });

  it('sends a queued push when the device connects, once, with a token of its own', async () => {
    const device = await world.device('1');
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline: true });
    const first = await world.connect(device.id);
    expect(first.commands).toHaveLength(1);
    expect((await world.targetOf(push.id, device.id)).status).toBe('sent');
    const token = world.tokenOf(first.commands[0]!);
    expect(await world.pushes.pushedDownload(token)).toEqual({
      firmwareId: world.two.id,
      pushId: push.id,
      deviceId: device.id,
    });
    const second = await world.connect(device.id);
    expect(second.commands).toHaveLength(0);
  });

  it("sends a push queued while the connecting device's queued pushes are being read", async () => {
    const device = await world.device('1');
    const older = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline: true });
    // A newer push finds the device offline; its rows are written only once the device connected.
    const insert = world.hold('insert');
    const creating = world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline: true });
    await insert.reached;
    const read = world.hold('activeTargets');
    const connection = await world.connect(device.id, 'tcp', false);
    // The connect read the older push only; the newer one is written and queued now.
    await read.reached;
    insert.release();
    const newer = await creating;
    read.release();
    await settle();
    expect(connection.commands.map((command) => command.pushId)).toEqual([newer.id]);
    expect(await world.targetOf(newer.id, device.id)).toMatchObject({ status: 'sent', reason: 'over tcp' });
    expect(await world.targetOf(older.id, device.id)).toMatchObject({ status: 'failed' });
  });

  it('sends a push queued for a device that connected after the push found it offline', async () => {
    const device = await world.device('1');
    const insert = world.hold('insert');
    const creating = world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline: true });
    await insert.reached;
    // Its connect finds nothing waiting yet.
    const connection = await world.connect(device.id);
    insert.release();
    const push = await creating;
    await settle();
    expect(connection.commands.map((command) => command.pushId)).toEqual([push.id]);
    expect(await world.targetOf(push.id, device.id)).toMatchObject({ status: 'sent' });
  });

  it('runs no query when a device with nothing queued connects', async () => {
    const device = await world.device('1');
    const before = world.calls.activeTargets;
    await world.connect(device.id);
    await world.connect(device.id, 'mqtt');
    expect(world.calls.activeTargets).toBe(before);
  });

  it('runs no query when a device that was sent its push reconnects', async () => {
    const device = await world.device('1');
    await world.connect(device.id);
    await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    await settle();
    const before = world.calls.activeTargets;
    await world.connect(device.id);
    expect(world.calls.activeTargets).toBe(before);
  });

  it('answers incompatible for a device not on a prerequisite, unless forced', async () => {
    const device = await world.device();
    const connection = await world.connect(device.id);
    const refused = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    expect(refused.counts.incompatible).toBe(1);
    const forced = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], force: true });
    expect(forced.counts.queued).toBe(1);
    await settle();
    expect(connection.commands).toHaveLength(1);
  });

  it('follows acknowledgement, download and report to upgraded', async () => {
    const device = await world.device('1');
    const connection = await world.connect(device.id, 'mqtt');
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    await settle();
    const at = new Date();
    world.events.publish({
      type: 'device.acknowledged',
      deviceId: device.id,
      pushId: push.id,
      firmwareId: world.two.id,
      at,
    });
    await settle();
    expect((await world.targetOf(push.id, device.id)).status).toBe('delivered');
    const download = await world.pushes.pushedDownload(world.tokenOf(connection.commands[0]!));
    world.pushes.downloadStarted(download!);
    await settle();
    expect((await world.targetOf(push.id, device.id)).status).toBe('downloading');
    await world.report(device.id, '2');
    const target = await world.targetOf(push.id, device.id);
    expect(target.history.map((step) => step.status)).toEqual([
      'queued',
      'sent',
      'delivered',
      'downloading',
      'upgraded',
    ]);
    expect(world.recorded.flatMap((event) => (event.type === 'push.progress' ? [event.status] : []))).toEqual([
      'queued',
      'sent',
      'delivered',
      'downloading',
      'upgraded',
    ]);
    expect(await world.pushes.get(admin, push.id)).toMatchObject({ phase: 'finished', counts: { upgraded: 1 } });
  });

  it('moves only the part a download token names', async () => {
    const [a, b] = [await world.device('1'), await world.device('1')];
    const [ca] = [await world.connect(a.id), await world.connect(b.id)];
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [a.id, b.id] });
    await settle();
    world.pushes.downloadStarted((await world.pushes.pushedDownload(world.tokenOf(ca.commands[0]!)))!);
    await settle();
    expect((await world.targetOf(push.id, a.id)).status).toBe('downloading');
    expect((await world.targetOf(push.id, b.id)).status).toBe('sent');
    expect(await world.pushes.pushedDownload('A'.repeat(21))).toBeUndefined();
    expect(await world.pushes.pushedDownload(b.id)).toBeUndefined();
  });

  it('fails when the device reports another version, and terminal states stay terminal', async () => {
    const device = await world.device('1');
    await world.connect(device.id);
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    await settle();
    await world.report(device.id, '1');
    expect(await world.targetOf(push.id, device.id)).toMatchObject({
      status: 'failed',
      reason: 'reported version 1 instead of 2',
    });
    await world.report(device.id, '2');
    expect((await world.targetOf(push.id, device.id)).status).toBe('failed');
  });

  it('fails a target whose command could not be written', async () => {
    const device = await world.device('1');
    const connection = await world.connect(device.id);
    connection.failNext = true;
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    await settle();
    expect(await world.targetOf(push.id, device.id)).toMatchObject({
      status: 'failed',
      reason: 'the command was not written: socket closed',
    });
  });

  it('queues a target whose command could not be written again when its push waits for offline devices', async () => {
    const device = await world.device('1');
    const connection = await world.connect(device.id);
    connection.failNext = true;
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline: true });
    await settle();
    // Tried once more at once, in case the device connected elsewhere meanwhile, then left queued.
    const target = await world.targetOf(push.id, device.id);
    expect(target).toMatchObject({
      status: 'queued',
      reason: 'the command was not written: socket closed; queued for the next connection',
    });
    expect(target.history.map((step) => step.status)).toEqual(['queued', 'sent', 'queued', 'sent', 'queued']);
    // The device leaves; its next connection gets it, once.
    world.connections.detach(connection);
    const next = await world.connect(device.id);
    expect(next.commands).toHaveLength(1);
    expect((await world.targetOf(push.id, device.id)).status).toBe('sent');
    expect((await world.connect(device.id)).commands).toHaveLength(0);
  });

  it('sends a command not written at the first try again at once, when the push waits for offline devices', async () => {
    const device = await world.device('1');
    const connection = await world.connect(device.id);
    const write = connection.send.bind(connection);
    let failures = 1;
    connection.send = async (command) => {
      if (failures-- > 0) throw new Error('socket closed');
      return write(command);
    };
    const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline: true });
    await settle();
    expect(connection.commands).toHaveLength(1);
    const target = await world.targetOf(push.id, device.id);
    expect(target.history.map((step) => step.status)).toEqual(['queued', 'sent', 'queued', 'sent']);
    expect(target.status).toBe('sent');
  });

  it('supersedes an older active push of the same device', async () => {
    const device = await world.device('1');
    await world.connect(device.id);
    const older = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    await settle();
    const newer = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
    expect(await world.targetOf(older.id, device.id)).toMatchObject({
      status: 'failed',
      reason: `superseded by push ${newer.id}`,
    });
  });

  describe('timeouts, one per active status', () => {
    /** The stepping clock moves one second a reading. */
    const advance = (seconds: number) => {
      for (let i = 0; i < seconds; i++) world.clock.now();
    };

    it.each([
      [
        'sent',
        10,
        'timed out in sent after 10 s: the device neither acknowledged the command nor started the download',
      ],
      [
        'delivered',
        20,
        'timed out in delivered after 20 s: the device acknowledged the command but did not start the download',
      ],
      [
        'downloading',
        30,
        'timed out in downloading after 30 s: the device started the download but did not report the new version',
      ],
    ])('fails a target left in %s past its own timeout, and says which', async (status, seconds, reason) => {
      const device = await world.device('1');
      const connection = await world.connect(device.id, 'mqtt');
      const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id] });
      await settle();
      if (status !== 'sent') {
        world.events.publish({
          type: 'device.acknowledged',
          deviceId: device.id,
          pushId: push.id,
          firmwareId: world.two.id,
          at: new Date(),
        });
        await settle();
      }
      if (status === 'downloading') {
        world.pushes.downloadStarted((await world.pushes.pushedDownload(world.tokenOf(connection.commands[0]!)))!);
        await settle();
      }
      expect((await world.targetOf(push.id, device.id)).status).toBe(status);
      // Each move read the clock once or twice: the timeout is not reached just short of it.
      advance(seconds - 4);
      expect(await world.pushes.expireOverdue()).toBe(0);
      advance(6);
      expect(await world.pushes.expireOverdue()).toBe(1);
      expect(await world.targetOf(push.id, device.id)).toMatchObject({ status: 'failed', reason });
    });

    it('fails a queued target whose device never connected', async () => {
      const device = await world.device('1');
      const push = await world.pushes.create(admin, world.two.id, { deviceIds: [device.id], queueOffline: true });
      advance(101);
      expect(await world.pushes.expireOverdue()).toBe(1);
      expect((await world.targetOf(push.id, device.id)).reason).toBe(
        'timed out in queued after 100 s: the device did not connect',
      );
    });
  });

  describe('selections and pages', () => {
    it('pushes to every online device, or to all with the offline ones queued', async () => {
      const [a, b, c] = [await world.device('1'), await world.device('1'), await world.device('1')];
      await world.connect(a.id);
      await world.connect(b.id, 'mqtt');
      const online = await world.pushes.create(admin, world.two.id, { selection: 'online' });
      expect(online).toMatchObject({ selection: 'online', total: 2, counts: { queued: 2 } });
      const all = await world.pushes.create(admin, world.two.id, { selection: 'all', queueOffline: true });
      expect(all).toMatchObject({ selection: 'all', total: 3, counts: { queued: 3 } });
      await settle();
      expect((await world.targetOf(all.id, c.id)).reason).toBe('waiting for the device to connect');
      expect((await world.targetOf(all.id, b.id)).reason).toBe('over mqtt');
    });

    it('pages targets in device id order, filtered by status', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await world.device('1')).id);
      for (const id of ids.slice(0, 3)) await world.connect(id);
      const push = await world.pushes.create(admin, world.two.id, { deviceIds: ids });
      await settle();
      const first = await world.pushes.targets(admin, push.id, { limit: 2 });
      const second = await world.pushes.targets(admin, push.id, { limit: 2, cursor: first.nextCursor });
      const third = await world.pushes.targets(admin, push.id, { limit: 2, cursor: second.nextCursor });
      expect([...first.targets, ...second.targets, ...third.targets].map((t) => t.deviceId)).toEqual([...ids].sort());
      expect(third.nextCursor).toBeUndefined();
      const offline = await world.pushes.targets(admin, push.id, { status: 'offline' });
      expect(offline.targets.map((t) => t.deviceId).sort()).toEqual(ids.slice(3).sort());
      expect(offline.targets[0]!.history).toHaveLength(1);
      await expect(world.pushes.targets(admin, push.id, { status: 'lost' })).rejects.toMatchObject({
        code: 'invalid_input',
      });
      await expect(world.pushes.targets(admin, push.id, { limit: 501 })).rejects.toMatchObject({
        code: 'invalid_input',
      });
      await expect(world.pushes.targets(admin, 'Unope', {})).rejects.toMatchObject({ code: 'not_found' });
    });

    it('fans a large push out in batches, each device sent once', async () => {
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
      dir = await mkdtemp(join(tmpdir(), 'fota-push-'));
      world = await setup(25);
      const connections: RecordingConnection[] = [];
      for (let i = 0; i < 120; i++) connections.push(await world.connect((await world.device()).id, 'tcp', false));
      const push = await world.pushes.create(admin, world.two.id, { selection: 'online', force: true });
      expect(push.counts.queued).toBe(120);
      await settle(40);
      expect(connections.every((connection) => connection.commands.length === 1)).toBe(true);
      expect(new Set(connections.map((c) => world.tokenOf(c.commands[0]!))).size).toBe(120);
      expect((await world.pushes.get(admin, push.id)).counts.sent).toBe(120);
    }, 30_000);
  });

  it.each([
    ['no devices', { deviceIds: [] }],
    ['not a device id', { deviceIds: ['nope'] }],
    ['an unknown device', { deviceIds: ['D0000000'] }],
    ['both ids and a selection', { deviceIds: ['D0000000'], selection: 'all' as const }],
    ['neither ids nor a selection', {}],
  ])('refuses %s', async (_case, request) => {
    await expect(world.pushes.create(admin, world.two.id, request)).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('refuses an online selection with nobody online', async () => {
    await world.device('1');
    await expect(world.pushes.create(admin, world.two.id, { selection: 'online' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('no connected device'),
    });
  });

  it('refuses a device actor', async () => {
    const device = await world.device('1');
    const actor = { kind: 'device', deviceId: device.id, prototypeId: world.prototype.id } as const;
    await expect(world.pushes.create(actor, world.two.id, { deviceIds: [device.id] })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(world.pushes.targets(actor, 'U00000000000', {})).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('closes the live connections of a device whose key is rotated', async () => {
    const device = await world.device('1');
    const tcp = await world.connect(device.id);
    const mqtt = await world.connect(device.id, 'mqtt');
    await world.devices.rotateKey(admin, device.id);
    expect(tcp.closed).toBe('the device key was rotated');
    expect(mqtt.closed).toBe('the device key was rotated');
  });
});
