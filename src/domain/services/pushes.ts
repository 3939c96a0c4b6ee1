import { requireAdmin } from '../access.js';
import { isCompatible } from '../compatibility.js';
import type { DeviceConnection } from '../connections.js';
import { invalid, notFound } from '../errors.js';
import type { DomainEvent, EventBus } from '../events.js';
import { isDeviceId, randomAlphanumeric } from '../ids.js';
import type { Actor, Device, Firmware, VersionPolicy } from '../model.js';
import type {
  ActiveTarget,
  Clock,
  DeviceRepository,
  FirmwareRepository,
  PrototypeRepository,
  PushRepository,
} from '../ports.js';
import { activePushStatuses, canMove, type Push, type PushStatus, type PushTarget } from '../push.js';
import type { DeviceConnections } from './connections.js';

export interface PushRequest {
  readonly deviceIds: readonly string[];
  /** Send even to devices whose firmware is not a prerequisite (or, under `increasing`, not lower). */
  readonly force?: boolean | undefined;
  /** Keep the push for offline devices and send it once when they next connect. */
  readonly queueOffline?: boolean | undefined;
}

export const MAX_PUSH_DEVICES = 10_000;
export const newPushId = (): string => `U${randomAlphanumeric(11)}`;

/**
 * Pushes a firmware to devices and follows each device through
 * queued → sent → delivered → downloading → upgraded | failed (see push.ts). Only connected devices
 * get it, as on MCS; others are answered `offline`, or queued with `queueOffline`.
 */
export class PushService {
  private readonly acknowledgements: ActiveTarget[] = [];

  constructor(
    private readonly deps: {
      readonly pushes: PushRepository;
      readonly devices: DeviceRepository;
      readonly firmwares: FirmwareRepository;
      readonly prototypes: PrototypeRepository;
      readonly connections: DeviceConnections;
      readonly events: EventBus;
      readonly clock: Clock;
      readonly timeoutMs: number;
      /** The URL a pushed device downloads from; it names the device so its download is seen. */
      readonly downloadUrl: (firmwareId: string, deviceId: string) => string;
      /** Where failures of background work (recording acknowledgements) are reported. */
      readonly onError: (error: unknown) => void;
    },
  ) {}

  /** Reacts to what devices do: connect, report, start a download. */
  listen(): () => void {
    return this.deps.events.subscribe((event) => this.onEvent(event));
  }

  async create(actor: Actor, firmwareId: string, request: PushRequest): Promise<Push> {
    requireAdmin(actor);
    const firmware = await this.deps.firmwares.get(firmwareId);
    if (!firmware) throw notFound(`no firmware ${firmwareId}`);
    const prototype = await this.deps.prototypes.get(firmware.prototypeId);
    if (!prototype) throw notFound(`no prototype ${firmware.prototypeId}`);
    const devices = await this.requireDevices(firmware, request.deviceIds);

    const now = this.deps.clock.now();
    const pushId = newPushId();
    const queueOffline = request.queueOffline ?? false;
    const targets = devices.map((device) =>
      this.initialTarget(pushId, device, firmware, prototype.versionPolicy, request.force ?? false, queueOffline, now),
    );
    const push: Push = {
      id: pushId,
      firmwareId: firmware.id,
      prototypeId: firmware.prototypeId,
      version: firmware.version,
      createdBy: actor.kind,
      createdAt: now,
      force: request.force ?? false,
      queueOffline,
      targets,
    };

    const sending = targets.filter((target) => target.status === 'queued');
    const older = await this.deps.pushes.activeTargets(sending.map((target) => target.deviceId));
    await this.moveAll(older, 'failed', () => `superseded by push ${pushId}`);
    await this.deps.pushes.insert(push);
    for (const target of targets)
      this.announce(firmware.id, pushId, target.deviceId, target.status, target.reason, now);

    const connected = sending.flatMap((target) => {
      const connection = this.deps.connections.current(target.deviceId);
      return connection
        ? [{ target: { ...target, firmwareId: firmware.id, version: firmware.version }, connection }]
        : [];
    });
    await this.sendAll(connected, firmware);
    return (await this.deps.pushes.get(pushId)) ?? push;
  }

  async get(actor: Actor, id: string): Promise<Push> {
    requireAdmin(actor);
    const push = await this.deps.pushes.get(id);
    if (!push) throw notFound(`no push ${id}`);
    return push;
  }

  async listByFirmware(actor: Actor, firmwareId: string): Promise<Push[]> {
    requireAdmin(actor);
    if (!(await this.deps.firmwares.get(firmwareId))) throw notFound(`no firmware ${firmwareId}`);
    return this.deps.pushes.listByFirmware(firmwareId);
  }

  async listByDevice(actor: Actor, deviceId: string): Promise<Push[]> {
    requireAdmin(actor);
    if (!(await this.deps.devices.get(deviceId))) throw notFound(`no device ${deviceId}`);
    return this.deps.pushes.listByDevice(deviceId);
  }

  /** Fails the active targets whose deadline passed; returns how many. */
  async expireOverdue(): Promise<number> {
    let expired = 0;
    for (const target of await this.deps.pushes.overdueTargets(this.deps.clock.now())) {
      if (await this.move(target, 'failed', 'no upgrade reported in time')) expired++;
    }
    return expired;
  }

  /** A download of `firmwareId` named `deviceId` started (the `?d=` of a pushed URL). */
  downloadStarted(deviceId: string, firmwareId: string): void {
    if (!isDeviceId(deviceId)) return;
    this.deps.events.publish({ type: 'firmware.download', deviceId, firmwareId, at: this.deps.clock.now() });
  }

  private async requireDevices(firmware: Firmware, ids: readonly string[]): Promise<Device[]> {
    const deviceIds = [...new Set(ids)];
    if (deviceIds.length === 0) throw invalid('deviceIds must name at least one device');
    if (deviceIds.length > MAX_PUSH_DEVICES) throw invalid(`at most ${MAX_PUSH_DEVICES} devices per push`);
    const bad = deviceIds.find((id) => !isDeviceId(id));
    if (bad !== undefined) throw invalid(`${bad} is not a device id`);
    const found = new Map((await this.deps.devices.getMany(deviceIds)).map((device) => [device.id, device]));
    return deviceIds.map((id) => {
      const device = found.get(id);
      if (!device || device.prototypeId !== firmware.prototypeId) {
        throw invalid(`${id} is not a device of prototype ${firmware.prototypeId}`);
      }
      return device;
    });
  }

  private initialTarget(
    pushId: string,
    device: Device,
    firmware: Firmware,
    policy: VersionPolicy,
    force: boolean,
    queueOffline: boolean,
    now: Date,
  ): PushTarget {
    const target = (status: PushStatus, reason?: string): PushTarget => ({
      pushId,
      deviceId: device.id,
      status,
      reason,
      updatedAt: now,
      deadline: status === 'queued' ? this.deadlineFrom(now) : undefined,
      history: [{ status, reason, at: now }],
    });
    const current = { firmwareId: device.reported?.firmwareId, version: device.reported?.version };
    if (!force && !isCompatible(firmware, current, policy)) {
      return target('incompatible', incompatibility(firmware, device, policy));
    }
    if (this.deps.connections.current(device.id)) return target('queued');
    return queueOffline
      ? target('queued', 'waiting for the device to connect')
      : target('offline', 'the device is not connected');
  }

  private async onEvent(event: DomainEvent): Promise<void> {
    switch (event.type) {
      case 'device.online':
        return this.deliverQueued(event.deviceId);
      case 'device.reported':
        return this.reported(event.deviceId, event.version);
      case 'device.fotaing':
        return this.downloading(event.deviceId, undefined);
      case 'firmware.download':
        return this.downloading(event.deviceId, event.firmwareId);
      default:
        return;
    }
  }

  /** Sends a device's queued pushes, once, when it connects. */
  private async deliverQueued(deviceId: string): Promise<void> {
    const queued = (await this.deps.pushes.activeTargets([deviceId])).filter((target) => target.status === 'queued');
    for (const target of queued) {
      const connection = this.deps.connections.current(deviceId);
      if (!connection) return;
      const firmware = await this.deps.firmwares.get(target.firmwareId);
      if (firmware) await this.sendAll([{ target, connection }], firmware);
      else await this.move(target, 'failed', 'the firmware was deleted');
    }
  }

  /**
   * Records `sent` for all targets in one transaction, then writes each FOTA command. Recording
   * first makes each command go out once (a target another event moved already is skipped) and
   * lets a fast acknowledgement find its target sent.
   */
  private async sendAll(
    sends: ReadonlyArray<{ readonly target: ActiveTarget; readonly connection: DeviceConnection }>,
    firmware: Firmware,
  ): Promise<void> {
    const connections = new Map(sends.map(({ target, connection }) => [target.deviceId, connection]));
    const sent = await this.moveAll(
      sends.map(({ target }) => target),
      'sent',
      (target) => `over ${connections.get(target.deviceId)!.protocol}`,
    );
    await Promise.all(
      sent.map(async (target) => {
        const command = {
          timestamp: this.deps.clock.now().getTime(),
          version: firmware.version,
          md5: firmware.md5,
          url: this.deps.downloadUrl(firmware.id, target.deviceId),
        };
        try {
          await connections.get(target.deviceId)!.sendFota(command, () => this.acknowledged(target));
        } catch {
          await this.move(target, 'failed', 'the connection closed before the command was written');
        }
      }),
    );
  }

  /**
   * A device acknowledged its command (MQTT PUBACK). Acknowledgements arriving together, as after a
   * large push, are recorded together in one transaction.
   */
  private acknowledged(target: ActiveTarget): void {
    this.acknowledgements.push(target);
    if (this.acknowledgements.length > 1) return;
    setImmediate(() => {
      const batch = this.acknowledgements.splice(0);
      this.moveAll(batch, 'delivered', () => 'the device acknowledged the message').catch((error: unknown) =>
        this.deps.onError(error),
      );
    });
  }

  private async reported(deviceId: string, version: string): Promise<void> {
    for (const target of await this.deps.pushes.activeTargets([deviceId])) {
      if (target.status === 'queued') continue;
      if (target.version === version) await this.move(target, 'upgraded', `reported version ${version}`);
      else await this.move(target, 'failed', `reported version ${version} instead of ${target.version}`);
    }
  }

  private async downloading(deviceId: string, firmwareId: string | undefined): Promise<void> {
    for (const target of await this.deps.pushes.activeTargets([deviceId])) {
      if (firmwareId !== undefined && target.firmwareId !== firmwareId) continue;
      const reason = firmwareId ? 'download started' : 'the device said fotaing';
      await this.move(target, 'downloading', reason);
    }
  }

  /** Moves a target along an allowed edge; repeats and forbidden moves change nothing. */
  private async move(target: ActiveTarget, to: PushStatus, reason: string): Promise<boolean> {
    let current: ActiveTarget | undefined = target;
    // A target read a moment ago may have moved since: retry from its newest status.
    for (let attempt = 0; attempt < 3 && current; attempt++) {
      if (!canMove(current.status, to)) return false;
      if ((await this.moveAll([current], to, () => reason)).length === 1) return true;
      current = await this.deps.pushes.getTarget(current.pushId, current.deviceId);
    }
    return false;
  }

  /** Moves targets along allowed edges in one transaction and returns the ones that moved. */
  private async moveAll(
    targets: readonly ActiveTarget[],
    to: PushStatus,
    reasonOf: (target: ActiveTarget) => string,
  ): Promise<ActiveTarget[]> {
    const now = this.deps.clock.now();
    const candidates = targets
      .filter((target) => canMove(target.status, to))
      .map((target) => ({
        ...target,
        status: to,
        reason: reasonOf(target),
        updatedAt: now,
        deadline: !activePushStatuses.includes(to)
          ? undefined
          : to === 'sent'
            ? this.deadlineFrom(now)
            : target.deadline,
        previous: target.status,
      }));
    const moved = await this.deps.pushes.moveTargets(
      candidates.map((target) => ({
        pushId: target.pushId,
        deviceId: target.deviceId,
        from: target.previous,
        to: { status: to, reason: target.reason, at: now },
        deadline: target.deadline,
      })),
    );
    const done = candidates.filter((_target, index) => moved[index]);
    for (const target of done) this.announce(target.firmwareId, target.pushId, target.deviceId, to, target.reason, now);
    return done.map(({ previous: _previous, ...target }) => target);
  }

  private announce(
    firmwareId: string,
    pushId: string,
    deviceId: string,
    status: PushStatus,
    reason: string | undefined,
    at: Date,
  ): void {
    this.deps.events.publish({ type: 'push.progress', pushId, deviceId, firmwareId, status, reason, at });
  }

  private deadlineFrom(now: Date): Date {
    return new Date(now.getTime() + this.deps.timeoutMs);
  }
}

function incompatibility(firmware: Firmware, device: Device, policy: VersionPolicy): string {
  if (device.reported === undefined) return 'the device never reported a firmware and this one has prerequisites';
  if (policy === 'increasing') {
    return `the device runs ${device.reported.version}; this prototype only moves to higher versions`;
  }
  return `the device runs ${device.reported.version}, which is not a prerequisite of ${firmware.version}`;
}
