import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DomainError, isDomainError } from '../../domain/errors.js';
import type { Device, Firmware, Prototype } from '../../domain/model.js';
import type { NewTarget, StoredUser, TargetMove } from '../../domain/ports.js';
import type { PushRecord } from '../../domain/push.js';
import type { Database } from '../database.js';
import { SqlAccountRepository } from './accounts.js';
import { SqlChannelValueRepository } from './channel-values.js';
import { chunks } from './chunks.js';
import { SqlDeviceRepository } from './devices.js';
import { SqlFirmwareRepository } from './firmwares.js';
import { SqlPrototypeRepository } from './prototypes.js';
import { SqlPushRepository } from './pushes.js';
import { SqlSettingsRepository } from './settings.js';

/** A migrated, empty database for one test, and how to get rid of it. */
export interface OpenedDatabase {
  readonly database: Database;
  close(): Promise<void>;
}

const at = (ms: number) => new Date(1_700_000_000_000 + ms);
const prototype = (id: string, ms = 0): Prototype => ({
  id,
  name: `board ${id}`,
  description: 'a board',
  versionPolicy: 'any',
  board: 'mcs',
  createdAt: at(ms),
});
const device = (id: string, prototypeId: string): Device => ({
  id,
  prototypeId,
  key: `k${id}`.padEnd(16, 'k'),
  name: `device ${id}`,
  description: '',
  reported: undefined,
  createdAt: at(1),
});
const firmware = (id: string, prototypeId: string, version: string, extra: Partial<Firmware> = {}): Firmware => ({
  id,
  prototypeId,
  name: `fw ${version}`,
  version,
  releaseNote: 'notes',
  fileName: 'fw.bin',
  size: 1024,
  md5: '0'.repeat(32),
  sha256: `${id}`.padEnd(64, '0'),
  prerequisites: 'all',
  createdAt: at(2),
  ...extra,
});
const user = (id: string, email: string, role: StoredUser['role']): StoredUser => ({
  id,
  email,
  role,
  passwordHash: `scrypt$${id}`,
  createdAt: at(3),
});

/** Device ids in the MCS shape, mixed case: byte order puts upper case before lower case. */
const deviceId = (n: number) => `D${n.toString(36).padStart(7, '0')}`;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/**
 * The repositories' contract, run unchanged on every engine: `open` gives a fresh, migrated
 * database per test.
 */
export function repositoryContract(engine: string, open: () => Promise<OpenedDatabase>): void {
  describe(`the repositories on ${engine}`, () => {
    let opened: OpenedDatabase;
    let database: Database;
    let prototypes: SqlPrototypeRepository;
    let devices: SqlDeviceRepository;
    let firmwares: SqlFirmwareRepository;

    beforeEach(async () => {
      opened = await open();
      database = opened.database;
      prototypes = new SqlPrototypeRepository(database.db);
      devices = new SqlDeviceRepository(database.db);
      firmwares = new SqlFirmwareRepository(database.db);
    });
    afterEach(async () => opened.close());

    /**
     * Opens `count` connections where the engine has a pool (each transaction holds one for a
     * moment), so that the transactions a test then starts at once really run side by side.
     */
    async function warmConnections(count: number): Promise<void> {
      await Promise.all(
        Array.from({ length: count }, () =>
          database.db.transaction().execute(async (trx) => {
            await trx.selectFrom('settings').selectAll().execute();
            await new Promise((resolve) => setTimeout(resolve, 50));
          }),
        ),
      );
    }

    /** Many devices at once, straight into the table, 500 rows a statement. */
    async function insertDevices(prototypeId: string, count: number): Promise<string[]> {
      const ids = Array.from({ length: count }, (_, n) => deviceId(n));
      for (const part of chunks(ids)) {
        await database.db
          .insertInto('devices')
          .values(
            part.map((id) => ({
              id,
              prototype_id: prototypeId,
              device_key: 'k'.repeat(16),
              name: id,
              description: '',
              reported_firmware_id: null,
              reported_version: null,
              reported_at: null,
              created_at: at(1).getTime(),
            })),
          )
          .execute();
      }
      return ids;
    }

    describe('prototypes', () => {
      it('stores, lists in creation then byte order of ids, updates and deletes', async () => {
        for (const id of ['P0000000000b', 'P0000000000a', 'P0000000000B']) await prototypes.insert(prototype(id));
        await prototypes.insert(prototype('P0000000000A', -1));
        expect((await prototypes.list()).map((p) => p.id)).toEqual([
          'P0000000000A',
          'P0000000000B',
          'P0000000000a',
          'P0000000000b',
        ]);
        expect(await prototypes.get('P0000000000a')).toEqual(prototype('P0000000000a'));
        await prototypes.update({ ...prototype('P0000000000a'), versionPolicy: 'increasing', name: 'renamed' });
        expect(await new SqlPrototypeRepository(database.db).get('P0000000000a')).toMatchObject({
          versionPolicy: 'increasing',
          name: 'renamed',
        });
        await prototypes.delete('P0000000000a');
        expect(await new SqlPrototypeRepository(database.db).get('P0000000000a')).toBeUndefined();
      });

      it('deletes a prototype with its devices and firmwares', async () => {
        await prototypes.insert(prototype('P00000000001'));
        await devices.insert(device('D0000001', 'P00000000001'));
        await firmwares.insert(firmware('F00000000001', 'P00000000001', '1'), () => undefined);
        await prototypes.delete('P00000000001');
        expect(await devices.get('D0000001')).toBeUndefined();
        expect(await firmwares.get('F00000000001')).toBeUndefined();
      });
    });

    describe('devices', () => {
      beforeEach(async () => prototypes.insert(prototype('P00000000001')));

      it('stores a device and what it reported, times to the millisecond', async () => {
        await devices.insert(device('D0000001', 'P00000000001'));
        expect(await devices.get('D0000001')).toEqual(device('D0000001', 'P00000000001'));
        await firmwares.insert(firmware('F00000000001', 'P00000000001', '1'), () => undefined);
        const reported: Device = {
          ...device('D0000001', 'P00000000001'),
          name: 'renamed',
          reported: { firmwareId: 'F00000000001', version: '1', reportedAt: new Date(1_765_432_109_876) },
        };
        await devices.update(reported);
        expect(await devices.get('D0000001')).toEqual(reported);
        expect(await devices.listRunning('F00000000001')).toEqual(['D0000001']);
        // A deleted firmware leaves the report, without its id.
        await firmwares.delete('F00000000001');
        expect((await devices.get('D0000001'))?.reported).toEqual({ ...reported.reported, firmwareId: undefined });
      });

      it("refuses a second device with the same id as 'duplicate', naming it", async () => {
        await devices.insert(device('D0000001', 'P00000000001'));
        const error = await rejection(devices.insert(device('D0000001', 'P00000000001')));
        expect(isDomainError(error, 'duplicate')).toBe(true);
        expect((error as DomainError).message).toBe('device D0000001 exists already');
      });

      it('finds many devices at once, past one statement of ids', async () => {
        const ids = await insertDevices('P00000000001', 1_200);
        const found = await devices.getMany([...ids, 'Dmissing']);
        expect(found.map((d) => d.id).sort()).toEqual([...ids].sort());
        expect((await devices.listByPrototype('P00000000001')).map((d) => d.id)).toEqual([...ids].sort());
        await devices.delete(ids[0]!);
        expect(await devices.get(ids[0]!)).toBeUndefined();
      });
    });

    describe('firmwares', () => {
      beforeEach(async () => prototypes.insert(prototype('P00000000001')));

      it('stores sizes past 4 GiB as numbers, prerequisites, and finds by version and hash', async () => {
        const base = firmware('F00000000001', 'P00000000001', '1', { size: 5 * 1024 ** 3 + 7 });
        const next = firmware('F00000000002', 'P00000000001', '2', {
          prerequisites: ['F00000000001'],
          sha256: base.sha256,
        });
        expect(await firmwares.insert(base, () => undefined)).toEqual(base);
        await firmwares.insert(next, () => undefined);
        expect(await firmwares.get(base.id)).toEqual(base);
        expect(typeof (await firmwares.get(base.id))!.size).toBe('number');
        expect(await firmwares.listByPrototype('P00000000001')).toEqual([base, next]);
        expect(await firmwares.findByVersion('P00000000001', '2')).toEqual(next);
        expect(await firmwares.listDependents(base.id)).toEqual([next.id]);
        expect(await firmwares.countBySha256(base.sha256)).toBe(2);
        await firmwares.update({ ...next, prerequisites: 'all', releaseNote: 'changed' });
        expect(await firmwares.get(next.id)).toEqual({ ...next, prerequisites: 'all', releaseNote: 'changed' });
        await firmwares.delete(base.id);
        expect(await firmwares.listByPrototype('P00000000001')).toEqual([
          { ...next, prerequisites: 'all', releaseNote: 'changed' },
        ]);
      });

      it("refuses a version stored already as 'duplicate', and writes nothing when the check refuses or repeats", async () => {
        const first = firmware('F00000000001', 'P00000000001', '1');
        await firmwares.insert(first, () => undefined);
        const error = await rejection(
          firmwares.insert(firmware('F00000000002', 'P00000000001', '1', { sha256: 'f'.repeat(64) }), () => undefined),
        );
        expect(isDomainError(error, 'duplicate')).toBe(true);
        expect((error as Error).message).toBe('version 1 already exists in this prototype');
        expect(await firmwares.insert(firmware('F00000000003', 'P00000000001', '3'), () => first)).toBe(first);
        await expect(
          firmwares.insert(firmware('F00000000004', 'P00000000001', '4'), () => {
            throw new DomainError('version_not_higher', 'no');
          }),
        ).rejects.toThrow('no');
        expect((await firmwares.listByPrototype('P00000000001')).map((f) => f.id)).toEqual([first.id]);
      });

      it('checks each insert against the firmwares as they are, even when inserts run at once', async () => {
        // The check admits a firmware only into an empty prototype: of five at once, one is stored.
        await warmConnections(5);
        const results = await Promise.allSettled(
          [1, 2, 3, 4, 5].map((n) =>
            firmwares.insert(firmware(`F0000000000${n}`, 'P00000000001', String(n)), (existing) => {
              if (existing.length > 0) throw new DomainError('version_not_higher', 'not the first');
              return undefined;
            }),
          ),
        );
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        expect(await new SqlFirmwareRepository(database.db).listByPrototype('P00000000001')).toHaveLength(1);
      });
    });

    describe('settings', () => {
      it('keeps one value per key', async () => {
        const settings = new SqlSettingsRepository(database.db);
        expect(await settings.get('admin_token_hash')).toBeUndefined();
        await settings.set('admin_token_hash', 'one');
        await settings.set('admin_token_hash', 'two');
        expect(await settings.get('admin_token_hash')).toBe('two');
      });
    });

    describe('channel values', () => {
      it('keeps the newest value per channel, by channel id', async () => {
        await prototypes.insert(prototype('P00000000001'));
        await devices.insert(device('D0000001', 'P00000000001'));
        await devices.insert(device('D0000002', 'P00000000001'));
        const channels = new SqlChannelValueRepository(database.db);
        await channels.upsert('D0000001', [
          { channelId: 'temp', values: { value: '20' }, timestamp: at(10) },
          { channelId: 'Humidity', values: { value: '50' }, timestamp: at(10) },
        ]);
        await channels.upsert('D0000001', [{ channelId: 'temp', values: { value: '21' }, timestamp: at(20) }]);
        // An older value does not replace a newer one.
        await channels.upsert('D0000001', [{ channelId: 'temp', values: { value: '19' }, timestamp: at(15) }]);
        await channels.upsert('D0000002', [{ channelId: 'gps', values: { lat: '1', lng: '2' }, timestamp: at(5) }]);
        expect(await channels.list('D0000001')).toEqual([
          { channelId: 'Humidity', values: { value: '50' }, timestamp: at(10) },
          { channelId: 'temp', values: { value: '21' }, timestamp: at(20) },
        ]);
        const byDevice = await channels.listByPrototype('P00000000001');
        expect([...byDevice.keys()].sort()).toEqual(['D0000001', 'D0000002']);
        expect(byDevice.get('D0000002')).toEqual([
          { channelId: 'gps', values: { lat: '1', lng: '2' }, timestamp: at(5) },
        ]);
      });
    });

    describe('accounts', () => {
      let accounts: SqlAccountRepository;
      beforeEach(() => {
        accounts = new SqlAccountRepository(database.db);
      });

      it("stores users, refuses a second user with the same email as 'duplicate', lists without password hashes", async () => {
        await accounts.insertUser(user('U1', 'ada@example.com', 'admin'));
        await accounts.insertUser(user('U2', 'Ada@example.com', 'viewer'));
        const error = await rejection(accounts.insertUser(user('U3', 'ada@example.com', 'viewer')));
        expect(isDomainError(error, 'duplicate')).toBe(true);
        expect((error as Error).message).toBe('a user with email ada@example.com exists already');
        expect(await accounts.findUserByEmail('ada@example.com')).toEqual(user('U1', 'ada@example.com', 'admin'));
        expect(await accounts.getUser('U2')).toEqual(user('U2', 'Ada@example.com', 'viewer'));
        const { passwordHash: _, ...listed } = user('U1', 'ada@example.com', 'admin');
        expect((await accounts.listUsers())[0]).toEqual(listed);
        expect(await accounts.listUsers()).toHaveLength(2);
      });

      it('keeps the last admin, even against two demotions at once', async () => {
        await accounts.insertUser(user('U1', 'a@example.com', 'admin'));
        await accounts.insertUser(user('U2', 'b@example.com', 'admin'));
        await warmConnections(2);
        const answers = await Promise.all([
          accounts.updateUser(user('U1', 'a@example.com', 'viewer')),
          accounts.updateUser(user('U2', 'b@example.com', 'viewer')),
        ]);
        expect(answers.filter(Boolean)).toHaveLength(1);
        const admins = (await accounts.listUsers()).filter((u) => u.role === 'admin');
        expect(admins).toHaveLength(1);
        expect(await accounts.deleteUser(admins[0]!.id)).toBe(false);
        const other = admins[0]!.id === 'U1' ? 'U2' : 'U1';
        expect(await accounts.deleteUser(other)).toBe(true);
        expect(await accounts.getUser(other)).toBeUndefined();
      });

      it('keeps sessions and tokens, with their owners', async () => {
        await accounts.insertUser(user('U1', 'a@example.com', 'developer'));
        await accounts.insertSession({ tokenHash: 's1', userId: 'U1', createdAt: at(0), expiresAt: at(100) });
        await accounts.insertSession({ tokenHash: 's2', userId: 'U1', createdAt: at(0), expiresAt: at(200) });
        await accounts.insertSession({ tokenHash: 's3', userId: undefined, createdAt: at(0), expiresAt: at(300) });
        expect(await accounts.getSession('s3')).toEqual({
          tokenHash: 's3',
          userId: undefined,
          createdAt: at(0),
          expiresAt: at(300),
        });
        expect(await accounts.deleteExpiredSessions(at(100))).toBe(1);
        await accounts.deleteSessionsOf('U1', 's3');
        expect(await accounts.getSession('s2')).toBeUndefined();
        expect(await accounts.getSession('s3')).toBeDefined();

        const token = {
          id: 'T1',
          userId: 'U1',
          name: 'ci',
          role: 'viewer' as const,
          createdAt: at(5),
          lastUsedAt: undefined,
        };
        await accounts.insertToken(token, 'h1');
        await accounts.insertToken({ ...token, id: 'T2', userId: undefined, name: 'admin' }, 'h2');
        expect(await accounts.findToken('h1')).toEqual({ token, ownerRole: 'developer', ownerName: 'a@example.com' });
        expect((await accounts.findToken('h2'))?.ownerRole).toBe('admin');
        await accounts.touchToken('T1', at(9));
        expect(await accounts.getToken('T1')).toEqual({ ...token, lastUsedAt: at(9) });
        expect((await accounts.listTokens({ userId: undefined })).map((t) => t.id)).toEqual(['T2']);
        expect((await accounts.listTokens('all')).map((t) => t.id)).toEqual(['T1', 'T2']);
        await accounts.deleteToken('T2');
        expect(await accounts.getToken('T2')).toBeUndefined();
        // A deleted user takes their sessions and tokens along.
        expect(await accounts.deleteUser('U1')).toBe(true);
        expect(await accounts.findToken('h1')).toBeUndefined();
      });
    });

    describe('pushes', () => {
      const push: PushRecord = {
        id: 'U00000000001',
        firmwareId: 'F00000000001',
        prototypeId: 'P00000000001',
        version: '2',
        createdBy: 'admin',
        createdAt: at(50),
        force: true,
        queueOffline: false,
        selection: 'all',
      };
      let pushes: SqlPushRepository;
      let ids: string[];
      beforeEach(async () => {
        pushes = new SqlPushRepository(database.db, database.engine);
        await prototypes.insert(prototype('P00000000001'));
        ids = await insertDevices('P00000000001', 10_000);
      });

      const queued = (id: string, n: number): NewTarget => ({
        deviceId: id,
        status: 'queued',
        reason: n % 2 === 0 ? undefined : 'offline at push',
        deadline: at(1_000),
        tokenHash: `t${id}`.padEnd(64, '0'),
      });
      const move = (id: string, from: TargetMove['from'], status: TargetMove['to']['status']): TargetMove => ({
        pushId: push.id,
        deviceId: id,
        from,
        to: { status, reason: undefined, at: at(60) },
        deadline: at(2_000),
      });

      it('writes a push of 10,000 targets in one go and pages through them in device id order', async () => {
        await pushes.insert(push, ids.map(queued), at(50));
        expect(await pushes.summary(push.id)).toMatchObject({
          ...push,
          total: 10_000,
          counts: { queued: 10_000, sent: 0 },
          phase: 'pending',
        });
        expect(await pushes.listByFirmware(push.firmwareId)).toHaveLength(1);
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await pushes.targets(push.id, { after, limit: 3_000 });
          if (page.length === 0) break;
          seen.push(...page.map((target) => target.deviceId));
          after = page.at(-1)!.deviceId;
        }
        expect(seen).toEqual([...ids].sort());
        const [first] = await pushes.targets(push.id, { limit: 1 });
        expect(first).toEqual({
          pushId: push.id,
          deviceId: ids[0],
          status: 'queued',
          reason: undefined,
          updatedAt: at(50),
          deadline: at(1_000),
          history: [{ status: 'queued', reason: undefined, at: at(50) }],
        });
        expect(await pushes.queuedTargets(push.id, ids[9_997], 10)).toHaveLength(2);
        expect((await pushes.activeTargets(ids)).length).toBe(10_000);
        expect((await pushes.devicesWithQueued()).length).toBe(10_000);
        expect(await pushes.targetByToken(queued(ids[5]!, 5).tokenHash!)).toMatchObject({
          deviceId: ids[5],
          reason: 'offline at push',
          firmwareId: push.firmwareId,
          version: '2',
        });
        expect(await pushes.overdueTargets(at(999), 10)).toEqual([]);
        expect(await pushes.overdueTargets(at(1_000), 10)).toHaveLength(10);
        const [mine] = await pushes.listByDevice(ids[1]!);
        expect(mine).toMatchObject({ id: push.id, force: true, queueOffline: false, target: { deviceId: ids[1] } });
      });

      it("lists a device's pushes with their histories, past one statement of push ids", async () => {
        const count = 501;
        for (let n = 0; n < count; n++) {
          const id = `U${String(n).padStart(11, '0')}`;
          await pushes.insert(
            { ...push, id, createdAt: at(n) },
            [{ ...queued(ids[0]!, 0), tokenHash: undefined }],
            at(n),
          );
          await pushes.moveTargets([{ ...move(ids[0]!, 'queued', 'sent'), pushId: id }]);
        }
        const listed = await pushes.listByDevice(ids[0]!);
        expect(listed).toHaveLength(count);
        expect(listed[0]!.id).toBe(`U${String(count - 1).padStart(11, '0')}`);
        expect(listed.every((item) => item.target.history.map((step) => step.status).join() === 'queued,sent')).toBe(
          true,
        );
        // 1,002 writes one after another: seconds on a shared, busy machine.
      }, 60_000);

      it('moves 10,000 targets by compare-and-set: each once, from the status it is in', async () => {
        await pushes.insert(push, ids.map(queued), at(50));
        expect((await pushes.moveTargets(ids.map((id) => move(id, 'queued', 'sent')))).every(Boolean)).toBe(true);
        expect((await pushes.moveTargets(ids.map((id) => move(id, 'queued', 'sent')))).some(Boolean)).toBe(false);
        expect(await pushes.summary(push.id)).toMatchObject({
          counts: { queued: 0, sent: 10_000 },
          phase: 'in_progress',
        });
        // Two conflicting moves of the same targets at once: each target takes exactly one.
        const some = ids.slice(0, 1_000);
        const [delivered, failed] = await Promise.all([
          pushes.moveTargets(some.map((id) => move(id, 'sent', 'delivered'))),
          pushes.moveTargets(some.map((id) => move(id, 'sent', 'failed'))),
        ]);
        expect(some.every((_, n) => delivered[n] !== failed[n])).toBe(true);
        const [target] = await pushes.targets(push.id, { limit: 1 });
        expect(target!.history.map((step) => step.status)).toEqual([
          'queued',
          'sent',
          delivered[0] ? 'delivered' : 'failed',
        ]);
        expect(target!.deadline).toEqual(at(2_000));
        // In one batch, the second move of the same target finds it moved already.
        const last = ids.at(-1)!;
        expect(await pushes.moveTargets([move(last, 'sent', 'delivered'), move(last, 'sent', 'failed')])).toEqual([
          true,
          false,
        ]);
        expect((await pushes.getTarget(push.id, last))?.status).toBe('delivered');
      });
    });
  });
}
