import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../domain/audit/entry.js';
import type { Device } from '../../domain/model.js';
import type { NewTarget } from '../../domain/ports.js';
import type { PushRecord, PushStatus } from '../../domain/push.js';
import { Retention } from '../../domain/services/retention.js';
import { SqlAuditLog } from './audit.js';
import { SqlDeviceRepository } from './devices.js';
import { SqlPrototypeRepository } from './prototypes.js';
import { SqlPushRepository } from './pushes.js';
import type { OpenedDatabase } from './repositories.contract.js';

const DAY = 86_400_000;
const now = new Date('2026-12-01T12:00:00.000Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * DAY);

const record = (at: Date, extra: Partial<AuditRecord> = {}): AuditRecord => ({
  at,
  actor: {
    type: 'token',
    userId: 'Uada',
    name: 'ada@example.com',
    role: 'developer',
    token: { id: 'Tada', name: 'ci' },
  },
  address: '192.0.2.7',
  kind: 'push.create',
  target: { type: 'push', id: 'U1' },
  result: { outcome: 'success', status: 201, code: undefined },
  details: { devices: 3, force: false, selection: null, note: 'a, "b"\nc' },
  ...extra,
});

/**
 * The audit log and the purge of push history, run unchanged on every engine: `open` gives a
 * fresh, migrated database per test. Old rows go in through the repositories.
 */
export function auditContract(engine: string, open: () => Promise<OpenedDatabase>): void {
  describe(`the audit log and history retention on ${engine}`, () => {
    let opened: OpenedDatabase;
    let log: SqlAuditLog;
    let pushes: SqlPushRepository;

    beforeEach(async () => {
      opened = await open();
      log = new SqlAuditLog(opened.database.db);
      pushes = new SqlPushRepository(opened.database.db, opened.database.engine);
    });
    afterEach(async () => opened.close());

    describe('entries', () => {
      it('are read back as written, newest first, with increasing ids', async () => {
        const first = await log.append(record(daysAgo(2)));
        const second = await log.append(
          record(daysAgo(1), {
            actor: { type: 'anonymous', userId: undefined, name: undefined, role: undefined, token: undefined },
            target: undefined,
            result: { outcome: 'failure', status: 401, code: 'unauthenticated' },
            details: {},
          }),
        );
        expect(second.id).toBeGreaterThan(first.id);
        expect(await log.list({ limit: 10 })).toEqual([second, first]);
        expect(first).toEqual({ ...record(daysAgo(2)), id: first.id });
      });

      it('filter by actor (email, user id or token id), kind and time, and page with a cursor', async () => {
        const sameTime = daysAgo(1);
        const written = [];
        for (let n = 0; n < 5; n++) written.push(await log.append(record(sameTime, { details: { n } })));
        await log.append(
          record(daysAgo(3), {
            kind: 'user.delete',
            actor: { type: 'admin', userId: undefined, name: 'admin', role: 'admin', token: undefined },
          }),
        );
        const ns = (entries: { details: Record<string, unknown> }[]) => entries.map((entry) => entry.details['n']);
        for (const actor of ['ada@example.com', 'Uada', 'Tada']) {
          expect(await log.list({ actor, limit: 10 }), actor).toHaveLength(5);
        }
        expect(await log.list({ actor: 'admin', limit: 10 })).toHaveLength(1);
        expect(await log.list({ kind: 'user.delete', limit: 10 })).toHaveLength(1);
        expect(await log.list({ kind: 'push.create', since: daysAgo(2), limit: 10 })).toHaveLength(5);
        expect(await log.list({ until: daysAgo(2), limit: 10 })).toHaveLength(1);
        expect(await log.list({ since: sameTime, until: new Date(sameTime.getTime() + 1), limit: 10 })).toHaveLength(5);
        // Entries of the same millisecond page by id, none twice, none left out.
        const page1 = await log.list({ kind: 'push.create', limit: 2 });
        const last1 = page1.at(-1)!;
        const page2 = await log.list({ kind: 'push.create', after: { at: last1.at, id: last1.id }, limit: 2 });
        const last2 = page2.at(-1)!;
        const page3 = await log.list({ kind: 'push.create', after: { at: last2.at, id: last2.id }, limit: 2 });
        expect([...ns(page1), ...ns(page2), ...ns(page3)]).toEqual([4, 3, 2, 1, 0]);
        expect(written.map((entry) => entry.details['n'])).toEqual([0, 1, 2, 3, 4]);
      });

      it('are purged by age and by count, a batch at a time, oldest first', async () => {
        for (let n = 0; n < 25; n++) await log.append(record(daysAgo(400 + n), { details: { n } }));
        for (let n = 0; n < 5; n++) await log.append(record(daysAgo(n), { details: { n: 100 + n } }));
        expect(await log.purgeOlderThan(daysAgo(365), 10)).toBe(10);
        // The oldest went first.
        const oldest = (await log.list({ until: daysAgo(365), limit: 100 })).map((entry) => entry.details['n']);
        expect(oldest).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
        expect(await log.purgeOlderThan(daysAgo(365), 10)).toBe(10);
        expect(await log.purgeOlderThan(daysAgo(365), 10)).toBe(5);
        expect(await log.purgeOlderThan(daysAgo(365), 10)).toBe(0);
        expect(await log.purgeBeyond(3, 1)).toBe(1);
        expect(await log.purgeBeyond(3, 10)).toBe(1);
        expect(await log.purgeBeyond(3, 10)).toBe(0);
        expect((await log.list({ limit: 10 })).map((entry) => entry.details['n'])).toEqual([100, 101, 102]);
      });
    });

    describe('push history', () => {
      const pid = 'P00000000001';
      const device = (n: number): Device => ({
        id: `D${String(n).padStart(7, '0')}`,
        prototypeId: pid,
        key: 'k'.repeat(16),
        name: `d${n}`,
        description: '',
        reported: undefined,
        createdAt: daysAgo(1000),
      });
      const push = (id: string, createdAt: Date): PushRecord => ({
        id,
        firmwareId: 'F00000000001',
        prototypeId: pid,
        version: '2',
        createdBy: 'admin',
        createdAt,
        force: false,
        queueOffline: true,
        selection: 'ids',
      });
      const target = (n: number, status: PushStatus = 'queued'): NewTarget => ({
        deviceId: device(n).id,
        status,
        reason: undefined,
        deadline: undefined,
        tokenHash: undefined,
      });

      /** A push of `count` devices, each moved queued → sent → `end` (a transition each). */
      async function pushOf(id: string, createdAt: Date, count: number, end: PushStatus): Promise<void> {
        const targets = Array.from({ length: count }, (_, n) => target(n));
        await pushes.insert(push(id, createdAt), targets, createdAt);
        const moves = (from: PushStatus, status: PushStatus) =>
          targets.map((t) => ({
            pushId: id,
            deviceId: t.deviceId,
            from,
            to: { status, reason: undefined, at: createdAt },
            deadline: undefined,
          }));
        expect((await pushes.moveTargets(moves('queued', 'sent'))).every(Boolean)).toBe(true);
        if (end !== 'sent') expect((await pushes.moveTargets(moves('sent', end))).every(Boolean)).toBe(true);
      }

      beforeEach(async () => {
        await new SqlPrototypeRepository(opened.database.db).insert({
          id: pid,
          name: 'board',
          description: '',
          versionPolicy: 'any',
          board: 'mcs',
          createdAt: daysAgo(1000),
        });
        const devices = new SqlDeviceRepository(opened.database.db);
        for (let n = 0; n < 30; n++) await devices.insert(device(n));
      });

      it('selects finished pushes by age and beyond the newest kept, never one still in progress', async () => {
        await pushOf('UOLDDONE0001', daysAgo(500), 3, 'upgraded');
        await pushOf('UOLDBUSY0001', daysAgo(499), 3, 'sent');
        await pushOf('UOLDFAIL0001', daysAgo(498), 2, 'failed');
        await pushOf('UNEWDONE0001', daysAgo(1), 2, 'upgraded');
        const byAge = { createdBefore: daysAgo(365), keepNewest: undefined, limit: 10 };
        expect(await pushes.finishedPushes(byAge)).toEqual(['UOLDDONE0001', 'UOLDFAIL0001']);
        expect(await pushes.finishedPushes({ ...byAge, limit: 1 })).toEqual(['UOLDDONE0001']);
        const byCount = { createdBefore: undefined, keepNewest: 2, limit: 10 };
        expect(await pushes.finishedPushes(byCount)).toEqual(['UOLDDONE0001']);
        expect(await pushes.finishedPushes({ ...byCount, keepNewest: 4 })).toEqual([]);
        expect(await pushes.finishedPushes({ ...byCount, keepNewest: 0 })).toEqual([
          'UOLDDONE0001',
          'UOLDFAIL0001',
          'UNEWDONE0001',
        ]);
        expect(await pushes.finishedPushes({ createdBefore: undefined, keepNewest: undefined, limit: 10 })).toEqual([]);
        // Asked to, the purge still leaves a push with an active target whole.
        expect(await pushes.purgePush('UOLDBUSY0001', 100)).toBe(0);
        expect((await pushes.summary('UOLDBUSY0001'))?.total).toBe(3);
      });

      it('deletes a push a batch of rows at a time: transitions, then targets, then the push', async () => {
        // 25 targets with 2 transitions each: 50, then 25, then the push.
        await pushOf('UOLDDONE0001', daysAgo(500), 25, 'upgraded');
        const deleted: number[] = [];
        for (let rows = await pushes.purgePush('UOLDDONE0001', 20); rows > 0;) {
          deleted.push(rows);
          rows = await pushes.purgePush('UOLDDONE0001', 20);
        }
        expect(deleted).toEqual([20, 20, 10, 20, 5, 1]);
        expect(await pushes.summary('UOLDDONE0001')).toBeUndefined();
        expect(await pushes.listByDevice(device(0).id)).toEqual([]);
      });

      it('is trimmed by the retention, with the audit log, keeping what is young or in progress', async () => {
        await pushOf('UOLDDONE0001', daysAgo(500), 25, 'upgraded');
        await pushOf('UOLDBUSY0001', daysAgo(499), 3, 'sent');
        await pushOf('UNEWDONE0001', daysAgo(1), 2, 'failed');
        for (let n = 0; n < 7; n++) await log.append(record(daysAgo(400)));
        await log.append(record(daysAgo(1)));
        const retention = new Retention({
          audit: log,
          pushes,
          clock: { now: () => now },
          policy: {
            auditMaxAgeMs: 365 * DAY,
            auditMaxEntries: undefined,
            historyMaxAgeMs: 365 * DAY,
            historyMaxPushes: undefined,
          },
          batchRows: 3,
        });
        expect(await retention.purge()).toEqual({ auditEntries: 7, pushes: 1, historyRows: 25 * 3 + 1 });
        expect(await pushes.summary('UOLDDONE0001')).toBeUndefined();
        expect((await pushes.summary('UOLDBUSY0001'))?.counts.sent).toBe(3);
        expect((await pushes.summary('UNEWDONE0001'))?.total).toBe(2);
        expect(await log.list({ limit: 10 })).toHaveLength(1);
        // Idempotent: a second purge, on this node or another, finds nothing.
        expect(await retention.purge()).toEqual({ auditEntries: 0, pushes: 0, historyRows: 0 });
      });
    });
  });
}
