import type { EventBus } from '../events.js';
import type { ActiveTarget, Clock, PushRepository } from '../ports.js';
import { activePushStatuses, canMove, timeoutMeaning, type PushStatus, type PushTimeouts } from '../push.js';

/** What a device did, or what the clock says, about its part in pushes. */
export type Observation =
  | { readonly kind: 'acknowledged'; readonly deviceId: string; readonly pushId: string; readonly firmwareId: string }
  | { readonly kind: 'download'; readonly deviceId: string; readonly pushId: string; readonly firmwareId: string }
  | { readonly kind: 'fotaing'; readonly deviceId: string }
  | { readonly kind: 'reported'; readonly deviceId: string; readonly version: string };

/** Overdue targets are failed this many at a time. */
const EXPIRY_BATCH = 500;

/**
 * The one place where targets move after a push is created: every observation goes through
 * `record`, every move along the edge table of push.ts through `moveAll`, in set-based batches.
 * Each active status has its own deadline, set when the target enters it.
 */
export class PushProgress {
  private readonly acknowledgements: PushPart[] = [];

  constructor(
    private readonly deps: {
      readonly pushes: PushRepository;
      readonly events: EventBus;
      readonly clock: Clock;
      readonly timeouts: PushTimeouts;
      /** Where failures of background work (batched acknowledgements) are reported. */
      readonly onError: (error: unknown) => void;
    },
  ) {}

  async record(observation: Observation): Promise<void> {
    switch (observation.kind) {
      case 'acknowledged':
        return this.acknowledged(observation);
      case 'download': {
        const target = await this.deps.pushes.getTarget(observation.pushId, observation.deviceId);
        if (target) await this.move(target, 'downloading', 'download started');
        return;
      }
      case 'fotaing':
        for (const target of await this.deps.pushes.activeTargets([observation.deviceId])) {
          if (target.status !== 'queued') await this.move(target, 'downloading', 'the device said fotaing');
        }
        return;
      case 'reported':
        for (const target of await this.deps.pushes.activeTargets([observation.deviceId])) {
          if (target.status === 'queued') continue;
          if (target.version === observation.version) {
            await this.move(target, 'upgraded', `reported version ${observation.version}`);
          } else {
            await this.move(target, 'failed', `reported version ${observation.version} instead of ${target.version}`);
          }
        }
        return;
    }
  }

  /** Fails the active targets whose status's timeout passed, saying which; returns how many. */
  async expireOverdue(): Promise<number> {
    let expired = 0;
    for (;;) {
      const overdue = await this.deps.pushes.overdueTargets(this.deps.clock.now(), EXPIRY_BATCH);
      const moved = await this.moveAll(overdue, 'failed', (target) => this.timeoutReason(target.status));
      expired += moved.length;
      if (overdue.length < EXPIRY_BATCH || moved.length === 0) return expired;
    }
  }

  /** Moves targets along allowed edges in one transaction and returns the ones that moved. */
  async moveAll(
    targets: readonly ActiveTarget[],
    to: PushStatus,
    reasonOf: (target: ActiveTarget) => string,
    tokenHashOf?: (target: ActiveTarget) => string,
  ): Promise<ActiveTarget[]> {
    const now = this.deps.clock.now();
    const deadline = this.deadline(to, now);
    const candidates = targets.filter((target) => canMove(target.status, to));
    if (candidates.length === 0) return [];
    const reasons = candidates.map(reasonOf);
    const moved = await this.deps.pushes.moveTargets(
      candidates.map((target, index) => ({
        pushId: target.pushId,
        deviceId: target.deviceId,
        from: target.status,
        to: { status: to, reason: reasons[index], at: now },
        deadline,
        tokenHash: tokenHashOf?.(target),
      })),
    );
    const done: ActiveTarget[] = [];
    candidates.forEach((target, index) => {
      if (!moved[index]) return;
      const reason = reasons[index]!;
      done.push({ ...target, status: to, reason, updatedAt: now, deadline });
      this.announce(target, to, reason, now);
    });
    return done;
  }

  /** Moves one target, retrying from its newest status if another move came first. */
  async move(target: ActiveTarget, to: PushStatus, reason: string): Promise<boolean> {
    let current: ActiveTarget | undefined = target;
    for (let attempt = 0; attempt < 3 && current; attempt++) {
      if (!canMove(current.status, to)) return false;
      if ((await this.moveAll([current], to, () => reason)).length === 1) return true;
      current = await this.deps.pushes.getTarget(current.pushId, current.deviceId);
    }
    return false;
  }

  /** Tells listeners (SSE, the console) a target's first status or a move. */
  announce(
    target: { readonly pushId: string; readonly deviceId: string; readonly firmwareId: string },
    status: PushStatus,
    reason: string | undefined,
    at: Date,
  ): void {
    this.deps.events.publish({
      type: 'push.progress',
      pushId: target.pushId,
      deviceId: target.deviceId,
      firmwareId: target.firmwareId,
      status,
      reason,
      at,
    });
  }

  /** When a target entering `status` now times out; none for terminal statuses. */
  deadline(status: PushStatus, now: Date): Date | undefined {
    if (!activePushStatuses.includes(status)) return undefined;
    return new Date(now.getTime() + this.deps.timeouts[status as keyof PushTimeouts]);
  }

  private timeoutReason(status: PushStatus): string {
    const key = status as keyof PushTimeouts;
    return `timed out in ${status} after ${formatDuration(this.deps.timeouts[key])}: ${timeoutMeaning[key]}`;
  }

  /** Acknowledgements arriving together, as after a large push, are recorded in one transaction. */
  private acknowledged(target: PushPart): void {
    this.acknowledgements.push(target);
    if (this.acknowledgements.length > 1) return;
    setImmediate(() => {
      // An acknowledgement answers a command sent: a target that moved on since does not move back.
      const batch = this.acknowledgements.splice(0).map((part) => asActive(part, 'sent'));
      this.moveAll(batch, 'delivered', () => 'the device acknowledged the message').catch((error: unknown) =>
        this.deps.onError(error),
      );
    });
  }
}

/** A device's part in a push, as events name it. */
interface PushPart {
  readonly deviceId: string;
  readonly pushId: string;
  readonly firmwareId: string;
}

/** A target known only by an event, taken to be in `status`: the move's compare-and-set checks it. */
const asActive = (part: PushPart, status: PushStatus): ActiveTarget => ({
  ...part,
  status,
  reason: undefined,
  updatedAt: new Date(0),
  deadline: undefined,
  history: [],
  version: '',
});

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60} min`;
  return `${seconds} s`;
}
