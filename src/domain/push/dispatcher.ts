import type { DeviceGateway } from '../gateway.js';
import type { Firmware, FotaCommand, Protocol } from '../model.js';
import type { ActiveTarget, Clock, FirmwareRepository, PushRepository } from '../ports.js';
import type { PushRecord } from '../push.js';
import { hashDownloadToken, newDownloadToken, type PlannedTarget } from './planner.js';
import type { PushProgress } from './progress.js';

/** Targets written, announced and sent per batch; the event loop runs between batches. */
export const DEFAULT_DISPATCH_BATCH = 100;

/**
 * Devices that may have a queued target: every one that has is in it (some in it have none left,
 * the database says). In one process a set; across nodes a shared one, since a push queued on one
 * node is delivered by whichever node its device connects to.
 */
export interface WaitingDevices {
  add(deviceIds: readonly string[]): Promise<void>;
  /** Removes the device in one step, answering whether it was there. */
  take(deviceId: string): Promise<boolean>;
}

/** The waiting devices of one process. */
export class LocalWaitingDevices implements WaitingDevices {
  private readonly ids = new Set<string>();

  async add(deviceIds: readonly string[]): Promise<void> {
    for (const deviceId of deviceIds) this.ids.add(deviceId);
  }

  async take(deviceId: string): Promise<boolean> {
    return this.ids.delete(deviceId);
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Writes a planned push, then fans it out in batches that yield to the event loop: each batch is
 * recorded `sent` in one transaction before its commands go to the gateway, so a command goes out
 * once and a fast acknowledgement finds its target sent. Queued pushes go out when their device
 * connects; a connect of a device with nothing queued runs no query.
 */
export class PushDispatcher {
  constructor(
    private readonly deps: {
      readonly pushes: PushRepository;
      readonly firmwares: FirmwareRepository;
      readonly gateway: DeviceGateway;
      readonly waiting: WaitingDevices;
      readonly progress: PushProgress;
      readonly clock: Clock;
      /** The URL a pushed device downloads from, naming its part in the push by an unguessable token. */
      readonly downloadUrl: (token: string) => string;
      readonly batchSize: number;
      readonly onError: (error: unknown) => void;
    },
  ) {}

  /** Learns which devices have queued targets, once at start. */
  async load(): Promise<void> {
    await this.deps.waiting.add(await this.deps.pushes.devicesWithQueued());
  }

  /** Records the push and its targets, then fans it out in the background. */
  async start(push: PushRecord, firmware: Firmware, planned: readonly PlannedTarget[]): Promise<void> {
    const now = push.createdAt;
    await this.deps.pushes.insert(
      push,
      planned.map((target) => ({
        deviceId: target.deviceId,
        status: target.status,
        reason: target.reason,
        deadline: this.deps.progress.deadline(target.status, now),
        tokenHash: target.token === undefined ? undefined : hashDownloadToken(target.token),
      })),
      now,
    );
    // Only those waiting for their device to connect: the others are sent now.
    await this.queue(
      planned
        .filter((target) => target.status === 'queued' && target.protocol === undefined)
        .map((target) => target.deviceId),
    );
    this.fanOut(push, firmware, planned).catch((error: unknown) => this.deps.onError(error));
  }

  /**
   * Sends a device's queued pushes, once, when it connects. `again`: a command that no connection
   * takes is queued again and tried once more at once (the device may have connected elsewhere
   * while it was on its way); the second try leaves it for the device's next connection.
   * The device leaves the waiting set before its targets are read: a push queued for it meanwhile
   * adds it again (and `queue` delivers it, the device being online), so none is forgotten.
   */
  async deliverQueued(deviceId: string, again = true): Promise<void> {
    if (!(await this.deps.waiting.take(deviceId))) return;
    const queued = (await this.deps.pushes.activeTargets([deviceId])).filter((target) => target.status === 'queued');
    for (const target of queued) {
      const protocol = (await this.deps.gateway.online([deviceId])).get(deviceId);
      if (protocol === undefined) {
        // Gone again: what is left waits for its next connection.
        await this.deps.waiting.add([deviceId]);
        return;
      }
      const firmware = await this.deps.firmwares.get(target.firmwareId);
      if (!firmware) {
        await this.deps.progress.move(target, 'failed', 'the firmware was deleted');
        continue;
      }
      // A token issued with the push may be lost with a restart: each delivery issues its own.
      const token = newDownloadToken();
      const sent = await this.deps.progress.moveAll(
        [target],
        'sent',
        () => `over ${protocol}`,
        () => hashDownloadToken(token),
      );
      // Another node that saw the device connect may have moved it first: only one sends.
      if (sent.length === 1) this.send(sent[0]!, firmware, token, { queueOffline: undefined, again });
    }
  }

  /**
   * Marks devices as waiting for their next connection. One that connected since it was found
   * offline (its `device.online` may have come and gone before it was marked) is delivered now.
   */
  private async queue(deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    await this.deps.waiting.add(deviceIds);
    const online = await this.deps.gateway.online(deviceIds);
    for (const deviceId of online.keys()) {
      this.deliverQueued(deviceId).catch((error: unknown) => this.deps.onError(error));
    }
  }

  private async fanOut(push: PushRecord, firmware: Firmware, plan: readonly PlannedTarget[]): Promise<void> {
    const { batchSize, progress } = this.deps;
    for (let start = 0; start < plan.length; start += batchSize) {
      await yieldToEventLoop();
      const batch = plan.slice(start, start + batchSize);
      const at = push.createdAt;
      const part = { pushId: push.id, firmwareId: push.firmwareId };
      for (const target of batch)
        progress.announce({ ...part, deviceId: target.deviceId }, target.status, target.reason, at);
      const planned = batch.filter((target) => target.protocol !== undefined && target.token !== undefined);
      if (planned.length === 0) continue;
      // A device may have gone since the plan: with queueOffline it waits for its next connect.
      const online = await this.deps.gateway.online(planned.map((target) => target.deviceId));
      const gone = planned.filter((target) => !online.has(target.deviceId));
      if (push.queueOffline) await this.queue(gone.map((target) => target.deviceId));
      else if (gone.length > 0) {
        await progress.moveAll(
          gone.map((target) => queuedTarget(push, target)),
          'failed',
          () => 'the device disconnected before the command went out',
        );
      }
      const sending = planned.filter((target) => online.has(target.deviceId));
      const protocols = new Map<string, Protocol>(
        sending.map((target) => [target.deviceId, online.get(target.deviceId)!]),
      );
      const tokens = new Map(sending.map((target) => [target.deviceId, target.token!]));
      const sent = await progress.moveAll(
        sending.map((target) => queuedTarget(push, target)),
        'sent',
        (target) => `over ${protocols.get(target.deviceId)}`,
      );
      for (const target of sent) {
        this.send(target, firmware, tokens.get(target.deviceId)!, { queueOffline: push.queueOffline, again: true });
      }
    }
  }

  /**
   * Hands one command to the gateway. A command no connection took (the device left, or the node
   * holding it died or hung) fails its target, unless its push waits for offline devices: then the
   * target is queued again for the device's next connection, where it goes out once.
   * `queueOffline` undefined: read from the push when needed.
   */
  private send(
    target: ActiveTarget,
    firmware: Firmware,
    token: string,
    retry: { readonly queueOffline: boolean | undefined; readonly again: boolean },
  ): void {
    const command: FotaCommand = {
      kind: 'fota',
      pushId: target.pushId,
      firmwareId: firmware.id,
      timestamp: this.deps.clock.now().getTime(),
      version: firmware.version,
      size: firmware.size,
      md5: firmware.md5,
      sha256: firmware.sha256,
      url: this.deps.downloadUrl(token),
    };
    this.deps.gateway
      .send(target.deviceId, command)
      .then(async (result) => {
        if (result.taken) return;
        const reason = `the command was not written: ${result.reason}`;
        const queueOffline = retry.queueOffline ?? (await this.deps.pushes.summary(target.pushId))?.queueOffline;
        if (!queueOffline) {
          await this.deps.progress.move(target, 'failed', reason);
          return;
        }
        const queued = await this.deps.progress.moveAll(
          [target],
          'queued',
          () => `${reason}; queued for the next connection`,
        );
        if (queued.length === 0) return;
        await this.deps.waiting.add([target.deviceId]);
        if (retry.again) await this.deliverQueued(target.deviceId, false);
      })
      .catch((error: unknown) => this.deps.onError(error));
  }
}

function queuedTarget(push: PushRecord, target: PlannedTarget): ActiveTarget {
  return {
    pushId: push.id,
    deviceId: target.deviceId,
    status: 'queued',
    reason: target.reason,
    updatedAt: push.createdAt,
    deadline: undefined,
    history: [],
    firmwareId: push.firmwareId,
    version: push.version,
  };
}
