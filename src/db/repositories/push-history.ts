import { sql } from 'kysely';
import type { FinishedPushSelection } from '../../domain/ports.js';
import { activePushStatuses } from '../../domain/push.js';
import type { Db } from '../database.js';

/**
 * The purge of old push history, beside SqlPushRepository: which pushes are finished and old (or
 * past the newest ones kept), and their rows deleted a bounded batch at a time, so that no one
 * statement holds the database for long (SQLite has one writer).
 */
export async function finishedPushes(db: Db, select: FinishedPushSelection): Promise<string[]> {
  const { createdBefore, keepNewest, limit } = select;
  if (limit <= 0 || (createdBefore === undefined && keepNewest === undefined)) return [];
  // The newest push that is not among those kept: it and every older one may go.
  const boundary =
    keepNewest === undefined
      ? undefined
      : await db
          .selectFrom('pushes')
          .select(['created_at', 'id'])
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(1)
          .offset(keepNewest)
          .executeTakeFirst();
  if (createdBefore === undefined && boundary === undefined) return [];
  const rows = await db
    .selectFrom('pushes')
    .select('id')
    .where((eb) => {
      const old = [];
      if (createdBefore !== undefined) old.push(eb('created_at', '<', createdBefore.getTime()));
      if (boundary !== undefined) {
        old.push(
          eb.or([
            eb('created_at', '<', boundary.created_at),
            eb.and([eb('created_at', '=', boundary.created_at), eb('id', '<=', boundary.id)]),
          ]),
        );
      }
      return eb.and([
        eb.or(old),
        eb.not(
          eb.exists(
            eb
              .selectFrom('push_targets')
              .select(sql.lit(1).as('one'))
              .whereRef('push_targets.push_id', '=', 'pushes.id')
              .where('push_targets.status', 'in', [...activePushStatuses]),
          ),
        ),
      ]);
    })
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}

export async function purgePush(db: Db, pushId: string, limit: number): Promise<number> {
  if (limit <= 0) return 0;
  // Nothing of a push that still has an active target goes, not even its history.
  const active = await db
    .selectFrom('push_targets')
    .select('device_id')
    .where('push_id', '=', pushId)
    .where('status', 'in', [...activePushStatuses])
    .limit(1)
    .executeTakeFirst();
  if (active) return 0;
  const transitions = await db
    .deleteFrom('push_transitions')
    .where(
      'id',
      'in',
      db.selectFrom('push_transitions').select('id').where('push_id', '=', pushId).orderBy('id').limit(limit),
    )
    .executeTakeFirst();
  if (Number(transitions.numDeletedRows) > 0) return Number(transitions.numDeletedRows);
  const targets = await db
    .deleteFrom('push_targets')
    .where('push_id', '=', pushId)
    .where('status', 'not in', [...activePushStatuses])
    .where(
      'device_id',
      'in',
      db.selectFrom('push_targets').select('device_id').where('push_id', '=', pushId).orderBy('device_id').limit(limit),
    )
    .executeTakeFirst();
  if (Number(targets.numDeletedRows) > 0) return Number(targets.numDeletedRows);
  const push = await db
    .deleteFrom('pushes')
    .where('id', '=', pushId)
    .where((eb) =>
      eb.not(eb.exists(eb.selectFrom('push_targets').select(sql.lit(1).as('one')).where('push_id', '=', pushId))),
    )
    .executeTakeFirst();
  return Number(push.numDeletedRows);
}
