import type { ActiveTarget, PushRepository, TargetMove } from '../../domain/ports.js';
import {
  activePushStatuses,
  type Push,
  type PushStatus,
  type PushTarget,
  type PushTransition,
} from '../../domain/push.js';
import type { Db } from '../database.js';
import type { PushTable, PushTargetTable } from '../schema.js';
import { chunks } from './chunks.js';

export class SqlPushRepository implements PushRepository {
  constructor(private readonly db: Db) {}

  async insert(push: Push): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('pushes')
        .values({
          id: push.id,
          firmware_id: push.firmwareId,
          prototype_id: push.prototypeId,
          version: push.version,
          created_by: push.createdBy,
          created_at: push.createdAt.getTime(),
          force: push.force ? 1 : 0,
          queue_offline: push.queueOffline ? 1 : 0,
        })
        .execute();
      for (const part of chunks(push.targets)) {
        await trx
          .insertInto('push_targets')
          .values(
            part.map((target) => ({
              push_id: push.id,
              device_id: target.deviceId,
              status: target.status,
              reason: target.reason ?? null,
              updated_at: target.updatedAt.getTime(),
              deadline_at: target.deadline?.getTime() ?? null,
            })),
          )
          .execute();
      }
      const steps = push.targets.flatMap((target) =>
        target.history.map((step) => ({
          push_id: push.id,
          device_id: target.deviceId,
          status: step.status,
          reason: step.reason ?? null,
          at: step.at.getTime(),
        })),
      );
      for (const part of chunks(steps)) await trx.insertInto('push_transitions').values(part).execute();
    });
  }

  async get(id: string): Promise<Push | undefined> {
    const row = await this.db.selectFrom('pushes').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return (await this.assemble([row]))[0];
  }

  async listByFirmware(firmwareId: string): Promise<Push[]> {
    const rows = await this.db
      .selectFrom('pushes')
      .selectAll()
      .where('firmware_id', '=', firmwareId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return this.assemble(rows);
  }

  async listByDevice(deviceId: string): Promise<Push[]> {
    const rows = await this.db
      .selectFrom('pushes')
      .innerJoin('push_targets', 'push_targets.push_id', 'pushes.id')
      .selectAll('pushes')
      .where('push_targets.device_id', '=', deviceId)
      .orderBy('pushes.created_at', 'desc')
      .orderBy('pushes.id')
      .execute();
    return this.assemble(rows, deviceId);
  }

  async activeTargets(deviceIds: readonly string[]): Promise<ActiveTarget[]> {
    const targets: ActiveTarget[] = [];
    for (const part of chunks(deviceIds)) {
      const rows = await this.withFirmware()
        .where('push_targets.device_id', 'in', part)
        .where('push_targets.status', 'in', [...activePushStatuses])
        .orderBy('pushes.created_at')
        .execute();
      targets.push(...rows.map(activeFromRow));
    }
    return targets;
  }

  async getTarget(pushId: string, deviceId: string): Promise<ActiveTarget | undefined> {
    const row = await this.withFirmware()
      .where('push_targets.push_id', '=', pushId)
      .where('push_targets.device_id', '=', deviceId)
      .executeTakeFirst();
    return row && activeFromRow(row);
  }

  async overdueTargets(now: Date): Promise<ActiveTarget[]> {
    const rows = await this.withFirmware()
      .where('push_targets.deadline_at', '<=', now.getTime())
      .where('push_targets.status', 'in', [...activePushStatuses])
      .execute();
    return rows.map(activeFromRow);
  }

  private withFirmware() {
    return this.db
      .selectFrom('push_targets')
      .innerJoin('pushes', 'pushes.id', 'push_targets.push_id')
      .selectAll('push_targets')
      .select(['pushes.firmware_id', 'pushes.version']);
  }

  async moveTargets(moves: readonly TargetMove[]): Promise<boolean[]> {
    if (moves.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const moved: boolean[] = [];
      for (const move of moves) {
        const result = await trx
          .updateTable('push_targets')
          .set({
            status: move.to.status,
            reason: move.to.reason ?? null,
            updated_at: move.to.at.getTime(),
            deadline_at: move.deadline?.getTime() ?? null,
          })
          .where('push_id', '=', move.pushId)
          .where('device_id', '=', move.deviceId)
          .where('status', '=', move.from)
          .executeTakeFirst();
        const done = Number(result.numUpdatedRows) === 1;
        moved.push(done);
        if (!done) continue;
        await trx
          .insertInto('push_transitions')
          .values({
            push_id: move.pushId,
            device_id: move.deviceId,
            status: move.to.status,
            reason: move.to.reason ?? null,
            at: move.to.at.getTime(),
          })
          .execute();
      }
      return moved;
    });
  }

  /** Pushes with their targets (only `deviceId`'s when given) and each target's history. */
  private async assemble(rows: PushTable[], deviceId?: string): Promise<Push[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    let query = this.db.selectFrom('push_targets').selectAll().where('push_id', 'in', ids);
    if (deviceId !== undefined) query = query.where('device_id', '=', deviceId);
    const targetRows = await query.orderBy('device_id').execute();
    const histories = await this.histories(ids, deviceId);
    const targets = new Map<string, PushTarget[]>();
    for (const row of targetRows) {
      const list = targets.get(row.push_id) ?? [];
      list.push(targetFromRow(row, histories.get(`${row.push_id}/${row.device_id}`) ?? []));
      targets.set(row.push_id, list);
    }
    return rows.map((row) => ({
      id: row.id,
      firmwareId: row.firmware_id,
      prototypeId: row.prototype_id,
      version: row.version,
      createdBy: row.created_by,
      createdAt: new Date(row.created_at),
      force: row.force === 1,
      queueOffline: row.queue_offline === 1,
      targets: targets.get(row.id) ?? [],
    }));
  }

  private async histories(pushIds: string[], deviceId?: string): Promise<Map<string, PushTransition[]>> {
    const histories = new Map<string, PushTransition[]>();
    if (pushIds.length === 0) return histories;
    let query = this.db.selectFrom('push_transitions').selectAll().where('push_id', 'in', pushIds);
    if (deviceId !== undefined) query = query.where('device_id', '=', deviceId);
    for (const row of await query.orderBy('id').execute()) {
      const key = `${row.push_id}/${row.device_id}`;
      const list = histories.get(key) ?? [];
      list.push({ status: row.status as PushStatus, reason: row.reason ?? undefined, at: new Date(row.at) });
      histories.set(key, list);
    }
    return histories;
  }
}

function activeFromRow(row: PushTargetTable & { firmware_id: string; version: string }): ActiveTarget {
  return { ...targetFromRow(row, []), firmwareId: row.firmware_id, version: row.version };
}

function targetFromRow(row: PushTargetTable, history: PushTransition[]): PushTarget {
  return {
    pushId: row.push_id,
    deviceId: row.device_id,
    status: row.status as PushStatus,
    reason: row.reason ?? undefined,
    updatedAt: new Date(row.updated_at),
    deadline: row.deadline_at === null ? undefined : new Date(row.deadline_at),
    history,
  };
}
