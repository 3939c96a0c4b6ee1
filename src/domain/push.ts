/**
 * The life of one device's part in a push. `offline` and `incompatible` are answers given at once
 * and never change; the others move only along the edges below, and terminal states stay terminal.
 *
 *   queued → sent → delivered → downloading → upgraded
 *      \       \         \            \
 *       `-------`---------`------------`--→ failed
 *
 * and one edge back, sent → queued: a command that no connection took after all (its device left,
 * or the node holding it died), in a push that waits for offline devices.
 */
export type PushStatus =
  'queued' | 'sent' | 'delivered' | 'downloading' | 'upgraded' | 'failed' | 'offline' | 'incompatible';

export const pushStatuses: readonly PushStatus[] = [
  'queued',
  'sent',
  'delivered',
  'downloading',
  'upgraded',
  'failed',
  'offline',
  'incompatible',
];

const edges: Readonly<Record<PushStatus, readonly PushStatus[]>> = {
  queued: ['sent', 'failed'],
  // Back to queued only when the command was not written after all (see the dispatcher).
  sent: ['queued', 'delivered', 'downloading', 'upgraded', 'failed'],
  delivered: ['downloading', 'upgraded', 'failed'],
  downloading: ['upgraded', 'failed'],
  upgraded: [],
  failed: [],
  offline: [],
  incompatible: [],
};

export const activePushStatuses: readonly PushStatus[] = ['queued', 'sent', 'delivered', 'downloading'];

export const isTerminal = (status: PushStatus): boolean => edges[status].length === 0;

/** True when a target in `from` may move to `to`. Repeating a status is not a move. */
export const canMove = (from: PushStatus, to: PushStatus): boolean => edges[from].includes(to);

export interface PushTransition {
  readonly status: PushStatus;
  readonly reason: string | undefined;
  readonly at: Date;
}

/** One device in a push. */
export interface PushTarget {
  readonly pushId: string;
  readonly deviceId: string;
  readonly status: PushStatus;
  readonly reason: string | undefined;
  readonly updatedAt: Date;
  /** When an active target fails as timed out: its status's own timeout after it entered it. */
  readonly deadline: Date | undefined;
  /** Every status it had, oldest first (left empty where a read does not need it). */
  readonly history: readonly PushTransition[];
}

/** Which devices a push names: the ids it lists, or every device of the firmware's prototype. */
export type PushSelection = 'ids' | 'all' | 'online';
export const pushSelections: readonly PushSelection[] = ['ids', 'all', 'online'];

/** A push as it was asked for, without its targets. */
export interface PushRecord {
  readonly id: string;
  readonly firmwareId: string;
  readonly prototypeId: string;
  readonly version: string;
  /** Who asked, as the actor's description (`admin`). */
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly force: boolean;
  readonly queueOffline: boolean;
  readonly selection: PushSelection;
}

/**
 * Where a push stands as a whole, derived from its targets: `pending` while no device has been
 * sent anything yet, `in_progress` while any target is active, `finished` when none is.
 */
export type PushPhase = 'pending' | 'in_progress' | 'finished';
export const pushPhases: readonly PushPhase[] = ['pending', 'in_progress', 'finished'];

export type PushCounts = Readonly<Record<PushStatus, number>>;

export interface PushSummary extends PushRecord {
  readonly total: number;
  readonly counts: PushCounts;
  readonly phase: PushPhase;
}

/** A push with one device's part in it, for that device's history. */
export interface DevicePush extends PushRecord {
  readonly target: PushTarget;
}

export const emptyCounts = (): Record<PushStatus, number> =>
  Object.fromEntries(pushStatuses.map((status) => [status, 0])) as Record<PushStatus, number>;

export function summarize(push: PushRecord, counts: PushCounts): PushSummary {
  const total = pushStatuses.reduce((sum, status) => sum + counts[status], 0);
  const active = activePushStatuses.reduce((sum, status) => sum + counts[status], 0);
  const moved = counts.sent + counts.delivered + counts.downloading + counts.upgraded + counts.failed;
  const phase: PushPhase = active === 0 ? 'finished' : moved === 0 ? 'pending' : 'in_progress';
  return { ...push, total, counts, phase };
}

/** How long a target may stay in each active status before it fails as timed out, in ms. */
export type PushTimeouts = Readonly<Record<'queued' | 'sent' | 'delivered' | 'downloading', number>>;

/** What each timeout waits for, for the reason a timed-out target gives. */
export const timeoutMeaning: Readonly<Record<keyof PushTimeouts, string>> = {
  queued: 'the device did not connect',
  sent: 'the device neither acknowledged the command nor started the download',
  delivered: 'the device acknowledged the command but did not start the download',
  downloading: 'the device started the download but did not report the new version',
};
