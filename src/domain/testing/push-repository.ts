import type { ActiveTarget, PushRepository, TargetMove } from '../ports.js';
import { activePushStatuses, type Push, type PushTarget } from '../push.js';

/** Pushes in memory for unit tests, with the compare-and-set moves of the SQL repository. */
export class InMemoryPushRepository implements PushRepository {
  private readonly pushes = new Map<string, Push>();

  async insert(push: Push): Promise<void> {
    this.pushes.set(push.id, push);
  }

  async get(id: string): Promise<Push | undefined> {
    return this.pushes.get(id);
  }

  async listByFirmware(firmwareId: string): Promise<Push[]> {
    return [...this.pushes.values()].filter((push) => push.firmwareId === firmwareId).reverse();
  }

  async listByDevice(deviceId: string): Promise<Push[]> {
    return [...this.pushes.values()]
      .filter((push) => push.targets.some((target) => target.deviceId === deviceId))
      .map((push) => ({ ...push, targets: push.targets.filter((target) => target.deviceId === deviceId) }))
      .reverse();
  }

  async activeTargets(deviceIds: readonly string[]): Promise<ActiveTarget[]> {
    return this.all().filter(
      (target) => deviceIds.includes(target.deviceId) && activePushStatuses.includes(target.status),
    );
  }

  async getTarget(pushId: string, deviceId: string): Promise<ActiveTarget | undefined> {
    return this.all().find((target) => target.pushId === pushId && target.deviceId === deviceId);
  }

  async overdueTargets(now: Date): Promise<ActiveTarget[]> {
    return this.all().filter(
      (target) => activePushStatuses.includes(target.status) && target.deadline !== undefined && target.deadline <= now,
    );
  }

  async moveTargets(moves: readonly TargetMove[]): Promise<boolean[]> {
    return moves.map((move) => {
      const push = this.pushes.get(move.pushId);
      const target = push?.targets.find((candidate) => candidate.deviceId === move.deviceId);
      if (!push || !target || target.status !== move.from) return false;
      const moved: PushTarget = {
        ...target,
        status: move.to.status,
        reason: move.to.reason,
        updatedAt: move.to.at,
        deadline: move.deadline,
        history: [...target.history, move.to],
      };
      this.pushes.set(push.id, { ...push, targets: push.targets.map((t) => (t === target ? moved : t)) });
      return true;
    });
  }

  private all(): ActiveTarget[] {
    return [...this.pushes.values()].flatMap((push) =>
      push.targets.map((target) => ({ ...target, history: [], firmwareId: push.firmwareId, version: push.version })),
    );
  }
}
