import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { relayCacheDrops } from '../../src/bus/redis/cache-relay.js';
import { ClusterEvents } from '../../src/bus/redis/cluster-events.js';
import { ClusterGateway } from '../../src/bus/redis/cluster-gateway.js';
import { RedisLink } from '../../src/bus/redis/link.js';
import { RedisWaitingDevices } from '../../src/bus/redis/waiting-devices.js';
import type { Database } from '../../src/db/database.js';
import { openDatabase, sqlitePath } from '../../src/db/open.js';
import { openSqlite } from '../../src/db/sqlite/open.js';
import { SqlDeviceRepository } from '../../src/db/repositories/devices.js';
import { SqlFirmwareRepository } from '../../src/db/repositories/firmwares.js';
import { SqlPrototypeRepository } from '../../src/db/repositories/prototypes.js';
import { SqlPushRepository } from '../../src/db/repositories/pushes.js';
import { LocalEventBus, type DomainEvent } from '../../src/domain/events.js';
import type { Protocol } from '../../src/domain/model.js';
import { DeviceConnections } from '../../src/domain/services/connections.js';
import { DeviceSelfService } from '../../src/domain/services/device-self.js';
import { DeviceService } from '../../src/domain/services/devices.js';
import { FirmwareBlobs } from '../../src/domain/services/firmware-blobs.js';
import { FirmwareService } from '../../src/domain/services/firmwares.js';
import { PrototypeService } from '../../src/domain/services/prototypes.js';
import { PushService } from '../../src/domain/services/pushes.js';
import { RecordingConnection } from '../../src/domain/testing/gateway.contract.js';
import { LocalBlobStore } from '../../src/storage/local-blob-store.js';

const admin = { kind: 'admin' } as const;
const clock = { now: () => new Date() };
const timeouts = { queued: 600_000, sent: 600_000, delivered: 600_000, downloading: 600_000 };

let dir: string;
let nodes: Awaited<ReturnType<typeof startNode>>[];
const errors: unknown[] = [];
const failed = (error: unknown) => void errors.push(error);

/**
 * One node of a cluster as the composition root wires it with Redis: its own connection to the
 * shared SQLite file (as another process would have), its own bus, connections and gateway.
 */
async function startNode({ db, engine }: Database) {
  const link = await RedisLink.open(inject('redisUrl'), undefined, failed);
  const bus = new LocalEventBus(failed);
  const cluster = await ClusterEvents.start(bus, link, failed);
  const events = cluster.local();
  const repositories = {
    prototypes: new SqlPrototypeRepository(db),
    devices: new SqlDeviceRepository(db),
    firmwares: new SqlFirmwareRepository(db),
  };
  const stopRelay = await relayCacheDrops(link, repositories, failed);
  const connections = new DeviceConnections({ events, clock });
  const gateway = await ClusterGateway.start({
    local: connections,
    events: bus,
    link,
    presenceTtlMs: 5000,
    requestTimeoutMs: 5000,
    onError: failed,
  });
  const pushes = new PushService({
    pushes: new SqlPushRepository(db, engine),
    ...repositories,
    gateway,
    waiting: new RedisWaitingDevices(link),
    events,
    clock,
    timeouts,
    downloadUrl: (token) => `http://fw.example/fw/p/${token}`,
    onError: failed,
  });
  const stopListening = await pushes.listen();
  const deviceSelf = new DeviceSelfService({
    ...repositories,
    clock,
    events,
    tcpEndpoint: { host: '127.0.0.1', port: 4443 },
  });
  /** Everything this node's handlers see (local bus) and its SSE stream shows. */
  const handled: DomainEvent[] = [];
  const streamed: DomainEvent[] = [];
  bus.subscribe((event) => void handled.push(event));
  cluster.stream().subscribe((event) => void streamed.push(event));
  const attach = (deviceId: string, prototypeId: string, protocol: Protocol) => {
    const connection = new RecordingConnection(deviceId, protocol, (closed) => connections.detach(closed));
    connections.attach({ kind: 'device', deviceId, prototypeId }, connection);
    return connection;
  };
  return {
    db,
    repositories,
    connections,
    gateway,
    pushes,
    deviceSelf,
    handled,
    streamed,
    attach,
    async stop() {
      stopListening();
      connections.closeAll('test over');
      await gateway.stop();
      await stopRelay();
      await cluster.close();
      await link.close();
      await db.destroy();
    },
  };
}

let prototypeId: string;
let firmware: { one: string; two: string };
let devices: DeviceService;
let uploadThroughFirst: (version: string) => Promise<string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fota-nodes-'));
  nodes = [await startNode(await openDatabase({ dataDir: join(dir, 'data') }))];
  for (let i = 1; i < 3; i++) nodes.push(await startNode(openSqlite(sqlitePath(join(dir, 'data')))));
  const [first] = nodes as [(typeof nodes)[0]];
  const blobStore = new LocalBlobStore(join(dir, 'blobs'));
  await blobStore.open();
  const blobs = new FirmwareBlobs(blobStore, first.repositories.firmwares);
  const prototypes = new PrototypeService({ ...first.repositories, blobs, clock });
  devices = new DeviceService({
    devices: first.repositories.devices,
    prototypes,
    channels: { upsert: async () => {}, list: async () => [], listByPrototype: async () => new Map() },
    connections: first.gateway,
    clock,
  });
  const firmwares = new FirmwareService({
    firmwares: first.repositories.firmwares,
    prototypes,
    blobs,
    blobStore,
    clock,
    maxFirmwareBytes: 1024,
    listRunningDevices: (id) => first.repositories.devices.listRunning(id),
  });
  prototypeId = (await prototypes.create(admin, { name: 'cluster' })).id;
  const upload = async (version: string) =>
    (await firmwares.upload(admin, prototypeId, { name: version, version }, Readable.from([Buffer.from(version)]))).id;
  firmware = { one: await upload('1.0.0'), two: await upload('2.0.0') };
  uploadThroughFirst = upload;
});

afterAll(async () => {
  for (const node of nodes ?? []) await node.stop();
  await rm(dir, { recursive: true, force: true });
  expect(errors).toEqual([]);
});

const eventually = (assertion: () => Promise<void> | void) => vi.waitFor(assertion, { timeout: 15_000, interval: 20 });
const device = async () => {
  const created = await devices.create(admin, prototypeId, { name: 'd' });
  await nodes[0]!.deviceSelf.reportFirmware({ kind: 'device', deviceId: created.id, prototypeId }, created.id, '1.0.0');
  return created.id;
};
const progressOf = (events: readonly DomainEvent[], deviceId: string) =>
  events.flatMap((event) => (event.type === 'push.progress' && event.deviceId === deviceId ? [event.status] : []));

describe('several nodes on one Redis', () => {
  it('shows every node’s stream what happened on another, and handles it once, where it happened', async () => {
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    const id = await device();
    const connection = a.attach(id, prototypeId, 'tcp');
    await eventually(() =>
      expect(b.streamed.some((event) => event.type === 'device.online' && event.deviceId === id)).toBe(true),
    );
    // Node B's domain handlers never see node A's events: only its stream does.
    expect(b.handled.some((event) => 'deviceId' in event && event.deviceId === id)).toBe(false);
    const online = b.streamed.find((event) => event.type === 'device.online' && event.deviceId === id)!;
    expect(online.at).toBeInstanceOf(Date);

    // Pushed from node C to the device on node A: sent once, progress on B's stream.
    const push = await c.pushes.create(admin, firmware.two, { deviceIds: [id] });
    await eventually(() => expect(connection.sent).toHaveLength(1));
    expect(connection.sent[0]).toMatchObject({ pushId: push.id, version: '2.0.0' });
    await eventually(() => expect(progressOf(b.streamed, id)).toEqual(['queued', 'sent']));

    // The device reports its new version to node A: upgraded, recorded once, seen on every stream.
    await a.deviceSelf.reportFirmware({ kind: 'device', deviceId: id, prototypeId }, id, '2.0.0');
    for (const node of [b, c]) {
      await eventually(() => expect(progressOf(node.streamed, id)).toEqual(['queued', 'sent', 'upgraded']));
      expect(node.streamed.some((event) => event.type === 'device.reported' && event.deviceId === id)).toBe(true);
    }
    expect(progressOf(a.handled, id)).toEqual(['upgraded']);
    expect(progressOf(c.handled, id)).toEqual(['queued', 'sent']);
    const target = (await a.pushes.targets(admin, push.id, {})).targets[0]!;
    expect(target.status).toBe('upgraded');
    expect(connection.sent).toHaveLength(1);

    connection.close('test');
    await eventually(() =>
      expect(c.streamed.some((event) => event.type === 'device.offline' && event.deviceId === id)).toBe(true),
    );
  });

  it('delivers a push queued on one node once, to a device that connects to two others at the same moment', async () => {
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    for (let round = 0; round < 5; round++) {
      const id = await device();
      const push = await c.pushes.create(admin, firmware.two, { deviceIds: [id], queueOffline: true });
      expect(push.counts.queued).toBe(1);
      // The same device over TCP to node A and over MQTT to node B, in the same turn of the loop.
      const overTcp = a.attach(id, prototypeId, 'tcp');
      const overMqtt = b.attach(id, prototypeId, 'mqtt');
      await eventually(async () =>
        expect((await a.pushes.targets(admin, push.id, {})).targets[0]!.status).toBe('sent'),
      );
      // Time for a second delivery, if there were one, to arrive.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(overTcp.sent.length + overMqtt.sent.length).toBe(1);
      overTcp.close('test');
      overMqtt.close('test');
    }
  });

  it('drops the firmware list another node keeps when a firmware is uploaded through one', async () => {
    const b = nodes[1]!;
    const versions = async () =>
      (await b.repositories.firmwares.sharedListByPrototype(prototypeId)).map((known) => known.version);
    // Node B keeps the list from its first read.
    expect(await versions()).toEqual(['1.0.0', '2.0.0']);
    await uploadThroughFirst('2.5.0');
    await eventually(async () => expect(await versions()).toContain('2.5.0'));
  });

  it('takes a device over from its half-open connection on another node: online once more, no offline, its queued push sent', async () => {
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    const id = await device();
    const old = a.attach(id, prototypeId, 'tcp');
    await eventually(async () => expect((await c.gateway.online([id])).get(id)).toBe('tcp'));
    // Its socket is half-open: a command for it is not written, and waits for the next connection.
    old.failWith = 'the socket is half-open';
    const push = await c.pushes.create(admin, firmware.two, { deviceIds: [id], queueOffline: true });
    await eventually(async () =>
      expect((await c.pushes.targets(admin, push.id, {})).targets[0]).toMatchObject({
        status: 'queued',
        reason: 'the command was not written: the socket is half-open; queued for the next connection',
      }),
    );
    // The device rebooted and connects to node B while node A still holds its old connection.
    const fresh = b.attach(id, prototypeId, 'tcp');
    await eventually(() =>
      expect(old.closedWith).toBe('replaced by a newer connection of the same device on another node'),
    );
    await eventually(() => expect(fresh.sent.map((sent) => sent.pushId)).toEqual([push.id]));
    for (const node of [a, b, c]) {
      expect(await node.gateway.online([id])).toEqual(new Map([[id, 'tcp']]));
      await eventually(() =>
        expect(
          node.streamed
            .filter((event) => event.type.startsWith('device.o') && 'deviceId' in event && event.deviceId === id)
            .map((event) => event.type),
        ).toEqual(['device.online', 'device.online']),
      );
    }
    fresh.close('test');
  });

  it('delivers a push queued on one node when the device connects to another', async () => {
    const [a, , c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    const id = await device();
    const push = await c.pushes.create(admin, firmware.two, { deviceIds: [id], queueOffline: true });
    const connection = a.attach(id, prototypeId, 'mqtt');
    await eventually(() => expect(connection.sent).toHaveLength(1));
    expect(connection.sent[0]!.pushId).toBe(push.id);
    connection.close('test');
  });
});
