/**
 * The life of one device's part in a push. `offline` and `incompatible` are answers given at once
 * and never change; the others move only along the edges below, and terminal states stay terminal.
 *
 *   queued → sent → delivered → downloading → upgraded
 *      \       \         \            \
 *       `-------`---------`------------`--→ failed
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
  sent: ['delivered', 'downloading', 'upgraded', 'failed'],
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
  /** When an active target fails as timed out. */
  readonly deadline: Date | undefined;
  /** Every status it had, oldest first. */
  readonly history: readonly PushTransition[];
}

export interface Push {
  readonly id: string;
  readonly firmwareId: string;
  readonly prototypeId: string;
  readonly version: string;
  /** Who asked, as the actor's description (`admin`). */
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly force: boolean;
  readonly queueOffline: boolean;
  readonly targets: readonly PushTarget[];
}
