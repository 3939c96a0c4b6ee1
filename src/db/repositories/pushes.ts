import type { Selectable, Transaction } from 'kysely';
import type {
  ActiveTarget,
  FinishedPushSelection,
  NewTarget,
  PushRepository,
  TargetMove,
  TargetQuery,
} from '../../domain/ports.js';
import {
  activePushStatuses,
  emptyCounts,
  summarize,
  type DevicePush,
  type PushRecord,
  type PushSelection,
  type PushStatus,
  type PushSummary,
  type PushTarget,
  type PushTransition,
} from '../../domain/push.js';
import type { Db, Engine } from '../database.js';
import type { PushTable, PushTargetTable, Tables } from '../schema.js';
import { insertRows, updateWhereIn } from '../bulk.js';
import { chunks } from './chunks.js';
import { finishedPushes, purgePush } from './push-history.js';

type PushRow = Selectable<PushTable>;
type TargetRow = Selectable<PushTargetTable>;

/**
 * Pushes in SQL, on any engine. Writes are set-based: a batch of targets is inserted, or moved from one status to
 * another, with one statement per chunk of a few hundred rows, never one per target.
 */
export class SqlPushRepository implements PushRepository {
  constructor(
    private readonly db: Db,
    private readonly engine: Engine,
  ) {}

  async insert(push: PushRecord, targets: readonly NewTarget[], at: Date): Promise<void> {
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
          selection: push.selection,
        })
        .execute();
      await insertRows(
        trx,
        this.engine,
        'push_targets',
        [
          'push_id',
          'device_id',
          'status',
          'reason',
          'updated_at',
          'deadline_at',
          'token_hash',
          'first_status',
          'first_reason',
        ],
        targets.map((target) => [
          push.id,
          target.deviceId,
          target.status,
          target.reason ?? null,
          at.getTime(),
          target.deadline?.getTime() ?? null,
          target.tokenHash ?? null,
          target.status,
          target.reason ?? null,
        ]),
      );
    });
  }

  async summary(id: string): Promise<PushSummary | undefined> {
    const row = await this.db.selectFrom('pushes').selectAll().where('id', '=', id).executeTakeFirst();
    return row && (await this.summarize([row]))[0];
  }

  async listByFirmware(firmwareId: string): Promise<PushSummary[]> {
    const rows = await this.db
      .selectFrom('pushes')
      .selectAll()
      .where('firmware_id', '=', firmwareId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return this.summarize(rows);
  }

  async listByDevice(deviceId: string): Promise<DevicePush[]> {
    const rows = await this.db
      .selectFrom('pushes')
      .innerJoin('push_targets', 'push_targets.push_id', 'pushes.id')
      .selectAll('pushes')
      .select([
        'push_targets.device_id',
        'push_targets.status',
        'push_targets.reason',
        'push_targets.updated_at',
        'push_targets.deadline_at',
        'push_targets.token_hash',
        'push_targets.first_status',
        'push_targets.first_reason',
      ])
      .where('push_targets.device_id', '=', deviceId)
      .orderBy('pushes.created_at', 'desc')
      .orderBy('pushes.id')
      .execute();
    const histories = await this.histories(
      rows.map((row) => row.id),
      deviceId,
    );
    return rows.map((row) => ({
      ...recordFromRow(row),
      target: targetFromRow(
        { ...row, push_id: row.id },
        histories.get(`${row.id}/${deviceId}`) ?? [],
        new Date(row.created_at),
      ),
    }));
  }

  async targets(pushId: string, query: TargetQuery): Promise<PushTarget[]> {
    let select = this.db.selectFrom('push_targets').selectAll().where('push_id', '=', pushId);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.after !== undefined) select = select.where('device_id', '>', query.after);
    const rows = await select.orderBy('device_id').limit(query.limit).execute();
    const push = await this.db.selectFrom('pushes').select('created_at').where('id', '=', pushId).executeTakeFirst();
    const histories = await this.histories(
      [pushId],
      undefined,
      rows.map((row) => row.device_id),
    );
    const createdAt = new Date(push?.created_at ?? 0);
    return rows.map((row) => targetFromRow(row, histories.get(`${pushId}/${row.device_id}`) ?? [], createdAt));
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

  async queuedTargets(pushId: string, after: string | undefined, limit: number): Promise<ActiveTarget[]> {
    let select = this.withFirmware()
      .where('push_targets.push_id', '=', pushId)
      .where('push_targets.status', '=', 'queued');
    if (after !== undefined) select = select.where('push_targets.device_id', '>', after);
    return (await select.orderBy('push_targets.device_id').limit(limit).execute()).map(activeFromRow);
  }

  async getTarget(pushId: string, deviceId: string): Promise<ActiveTarget | undefined> {
    const row = await this.withFirmware()
      .where('push_targets.push_id', '=', pushId)
      .where('push_targets.device_id', '=', deviceId)
      .executeTakeFirst();
    return row && activeFromRow(row);
  }

  async targetByToken(tokenHash: string): Promise<ActiveTarget | undefined> {
    const row = await this.withFirmware().where('push_targets.token_hash', '=', tokenHash).executeTakeFirst();
    return row && activeFromRow(row);
  }

  async overdueTargets(now: Date, limit: number): Promise<ActiveTarget[]> {
    const rows = await this.withFirmware()
      .where('push_targets.deadline_at', '<=', now.getTime())
      .where('push_targets.status', 'in', [...activePushStatuses])
      .limit(limit)
      .execute();
    return rows.map(activeFromRow);
  }

  async devicesWithQueued(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('push_targets')
      .select('device_id')
      .distinct()
      .where('status', '=', 'queued')
      .execute();
    return rows.map((row) => row.device_id);
  }

  finishedPushes(select: FinishedPushSelection): Promise<string[]> {
    return finishedPushes(this.db, select);
  }

  purgePush(pushId: string, limit: number): Promise<number> {
    return purgePush(this.db, pushId, limit);
  }

  async moveTargets(moves: readonly TargetMove[]): Promise<boolean[]> {
    if (moves.length === 0) return [];
    const moved = moves.map(() => false);
    // Moves that differ only by device go together: one UPDATE … WHERE device_id IN (…) per chunk.
    const groups = new Map<string, number[]>();
    moves.forEach((move, index) => {
      const key =
        move.tokenHash !== undefined
          ? `#${index}`
          : JSON.stringify([
              move.pushId,
              move.from,
              move.to.status,
              move.to.reason,
              move.to.at.getTime(),
              move.deadline?.getTime(),
            ]);
      const group = groups.get(key);
      if (group) group.push(index);
      else groups.set(key, [index]);
    });
    await this.db.transaction().execute(async (trx) => {
      for (const indexes of groups.values()) {
        const first = moves[indexes[0]!]!;
        const done = await updateWhereIn(
          trx,
          this.engine,
          {
            table: 'push_targets',
            set: {
              status: first.to.status,
              reason: first.to.reason ?? null,
              updated_at: first.to.at.getTime(),
              deadline_at: first.deadline?.getTime() ?? null,
              ...(first.tokenHash !== undefined ? { token_hash: first.tokenHash } : {}),
            },
            where: { push_id: first.pushId, status: first.from },
            key: 'device_id',
          },
          indexes.map((index) => moves[index]!.deviceId),
        );
        const steps = [];
        for (const index of indexes) {
          const move = moves[index]!;
          if (!done.has(move.deviceId)) continue;
          moved[index] = true;
          steps.push({ pushId: move.pushId, deviceId: move.deviceId, step: move.to });
        }
        await insertTransitions(trx, this.engine, steps);
      }
    });
    return moved;
  }

  private withFirmware() {
    return this.db
      .selectFrom('push_targets')
      .innerJoin('pushes', 'pushes.id', 'push_targets.push_id')
      .selectAll('push_targets')
      .select(['pushes.firmware_id', 'pushes.version']);
  }

  /** Pushes with their counts per status, in one grouped query. */
  private async summarize(rows: PushRow[]): Promise<PushSummary[]> {
    if (rows.length === 0) return [];
    const counts = new Map(rows.map((row) => [row.id, emptyCounts()]));
    for (const part of chunks(rows.map((row) => row.id))) {
      const grouped = await this.db
        .selectFrom('push_targets')
        .select(['push_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('push_id', 'in', part)
        .groupBy(['push_id', 'status'])
        .execute();
      for (const row of grouped) counts.get(row.push_id)![row.status as PushStatus] = Number(row.n);
    }
    return rows.map((row) => summarize(recordFromRow(row), counts.get(row.id)!));
  }

  /** The transitions of these pushes' targets (one device's, or some devices'), oldest first. */
  private async histories(
    pushIds: string[],
    deviceId?: string,
    deviceIds?: string[],
  ): Promise<Map<string, PushTransition[]>> {
    const histories = new Map<string, PushTransition[]>();
    if (pushIds.length === 0 || deviceIds?.length === 0) return histories;
    // A device's pushes may be many: their ids go a chunk at a time, each target's history in one.
    for (const part of chunks(pushIds)) {
      let query = this.db.selectFrom('push_transitions').selectAll().where('push_id', 'in', part);
      if (deviceId !== undefined) query = query.where('device_id', '=', deviceId);
      if (deviceIds !== undefined) query = query.where('device_id', 'in', deviceIds);
      for (const row of await query.orderBy('id').execute()) {
        const key = `${row.push_id}/${row.device_id}`;
        const list = histories.get(key) ?? [];
        list.push({ status: row.status as PushStatus, reason: row.reason ?? undefined, at: new Date(row.at) });
        histories.set(key, list);
      }
    }
    return histories;
  }
}

async function insertTransitions(
  trx: Transaction<Tables>,
  engine: Engine,
  steps: ReadonlyArray<{ readonly pushId: string; readonly deviceId: string; readonly step: PushTransition }>,
): Promise<void> {
  await insertRows(
    trx,
    engine,
    'push_transitions',
    ['push_id', 'device_id', 'status', 'reason', 'at'],
    steps.map(({ pushId, deviceId, step }) => [pushId, deviceId, step.status, step.reason ?? null, step.at.getTime()]),
  );
}

function recordFromRow(row: PushRow): PushRecord {
  return {
    id: row.id,
    firmwareId: row.firmware_id,
    prototypeId: row.prototype_id,
    version: row.version,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
    force: row.force === 1,
    queueOffline: row.queue_offline === 1,
    selection: row.selection as PushSelection,
  };
}

function activeFromRow(row: TargetRow & { firmware_id: string; version: string }): ActiveTarget {
  return { ...targetFromRow(row, []), firmwareId: row.firmware_id, version: row.version };
}

/** A target as read; its history starts with the status it was created in when the row keeps it. */
function targetFromRow(
  row: Omit<TargetRow, 'token_hash'>,
  transitions: PushTransition[],
  createdAt?: Date,
): PushTarget {
  const history =
    row.first_status === null || createdAt === undefined
      ? transitions
      : [
          { status: row.first_status as PushStatus, reason: row.first_reason ?? undefined, at: createdAt },
          ...transitions,
        ];
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
