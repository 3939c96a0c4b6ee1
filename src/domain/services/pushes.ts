import { actorName, requireRole } from '../access.js';
import { invalid, notFound } from '../errors.js';
import type { DomainEvent, EventBus } from '../events.js';
import type { DeviceGateway } from '../gateway.js';
import type { Actor, Device, Firmware } from '../model.js';
import type { Clock, DeviceRepository, FirmwareRepository, PrototypeRepository, PushRepository } from '../ports.js';
import {
  LocalWaitingDevices,
  PushDispatcher,
  DEFAULT_DISPATCH_BATCH,
  type WaitingDevices,
} from '../push/dispatcher.js';
import {
  hashDownloadToken,
  isDownloadToken,
  newPushId,
  planTargets,
  requestedIds,
  requireListed,
  selectionOf,
  type PushRequest,
} from '../push/planner.js';
import { PushProgress } from '../push/progress.js';
import {
  emptyCounts,
  pushStatuses,
  summarize,
  type DevicePush,
  type PushRecord,
  type PushStatus,
  type PushSummary,
  type PushTarget,
  type PushTimeouts,
} from '../push.js';

export { MAX_PUSH_DEVICES, type PushRequest } from '../push/planner.js';

/** The largest page of targets one request reads. */
export const MAX_TARGET_PAGE = 500;

export interface TargetPage {
  readonly targets: readonly PushTarget[];
  /** Pass as `cursor` for the next page; undefined on the last one. */
  readonly nextCursor: string | undefined;
}

/** A pushed download URL resolved: the firmware to serve and whose part in which push it is. */
export interface PushedDownload {
  readonly firmwareId: string;
  readonly pushId: string;
  readonly deviceId: string;
}

/**
 * Pushes a firmware to devices and follows each device through
 * queued → sent → delivered → downloading → upgraded | failed (see push.ts). Only connected devices
 * get it, as on MCS; others are answered `offline`, or queued with `queueOffline`. Planning is
 * pure (push/planner.ts), writing and sending is the dispatcher's, every later move the progress
 * recorder's; this service checks who asks and wires them to the bus.
 */
export class PushService {
  private readonly progress: PushProgress;
  private readonly dispatcher: PushDispatcher;

  constructor(
    private readonly deps: {
      readonly pushes: PushRepository;
      readonly devices: DeviceRepository;
      readonly firmwares: FirmwareRepository;
      readonly prototypes: PrototypeRepository;
      readonly gateway: DeviceGateway;
      readonly events: EventBus;
      readonly clock: Clock;
      readonly timeouts: PushTimeouts;
      /** The URL a pushed device downloads from, given its part's download token. */
      readonly downloadUrl: (token: string) => string;
      /** Where failures of background work (fan-out, acknowledgements) are reported. */
      readonly onError: (error: unknown) => void;
      readonly batchSize?: number;
      /** Devices with something queued; shared by the nodes of a cluster, in memory by default. */
      readonly waiting?: WaitingDevices;
    },
  ) {
    this.progress = new PushProgress(deps);
    this.dispatcher = new PushDispatcher({
      ...deps,
      waiting: deps.waiting ?? new LocalWaitingDevices(),
      progress: this.progress,
      batchSize: deps.batchSize ?? DEFAULT_DISPATCH_BATCH,
    });
  }

  /** Learns what is queued and reacts to what devices do; returns the function that stops listening. */
  async listen(): Promise<() => void> {
    await this.dispatcher.load();
    return this.deps.events.subscribe((event) => this.onEvent(event));
  }

  /** Plans and records the push, answers its summary, and sends it in the background. */
  async create(actor: Actor, firmwareId: string, request: PushRequest): Promise<PushSummary> {
    requireRole(actor, 'developer');
    const selection = selectionOf(request);
    const firmware = await this.deps.firmwares.get(firmwareId);
    if (!firmware) throw notFound(`no firmware ${firmwareId}`);
    const prototype = await this.deps.prototypes.get(firmware.prototypeId);
    if (!prototype) throw notFound(`no prototype ${firmware.prototypeId}`);
    let devices = await this.devicesOf(firmware, selection === 'ids' ? requestedIds(request.deviceIds!) : undefined);
    const online = await this.deps.gateway.online(devices.map((device) => device.id));
    if (selection === 'online') devices = devices.filter((device) => online.has(device.id));
    if (devices.length === 0)
      throw invalid(`prototype ${firmware.prototypeId} has no ${selection === 'online' ? 'connected ' : ''}device`);

    const push: PushRecord = {
      id: newPushId(),
      firmwareId: firmware.id,
      prototypeId: firmware.prototypeId,
      version: firmware.version,
      createdBy: actorName(actor),
      createdAt: this.deps.clock.now(),
      force: request.force ?? false,
      queueOffline: request.queueOffline ?? false,
      selection,
    };
    const planned = planTargets({
      firmware,
      policy: prototype.versionPolicy,
      devices,
      online,
      force: push.force,
      queueOffline: push.queueOffline,
    });
    const sending = planned.filter((target) => target.status === 'queued').map((target) => target.deviceId);
    const older = await this.deps.pushes.activeTargets(sending);
    await this.progress.moveAll(older, 'failed', () => `superseded by push ${push.id}`);
    await this.dispatcher.start(push, firmware, planned);

    const counts = emptyCounts();
    for (const target of planned) counts[target.status]++;
    this.deps.events.publish({
      type: 'push.created',
      pushId: push.id,
      firmwareId: push.firmwareId,
      prototypeId: push.prototypeId,
      version: push.version,
      createdBy: push.createdBy,
      counts: { ...counts },
      at: push.createdAt,
    });
    return summarize(push, counts);
  }

  async get(actor: Actor, id: string): Promise<PushSummary> {
    requireRole(actor, 'viewer');
    const push = await this.deps.pushes.summary(id);
    if (!push) throw notFound(`no push ${id}`);
    return push;
  }

  /** A page of a push's targets, in device id order, optionally of one status. */
  async targets(
    actor: Actor,
    id: string,
    query: {
      readonly status?: string | undefined;
      readonly cursor?: string | undefined;
      readonly limit?: number | undefined;
    },
  ): Promise<TargetPage> {
    requireRole(actor, 'viewer');
    const status = query.status as PushStatus | undefined;
    if (status !== undefined && !pushStatuses.includes(status)) {
      throw invalid(`status must be one of ${pushStatuses.join(', ')}, not "${query.status}"`);
    }
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TARGET_PAGE) {
      throw invalid(`limit must be a whole number from 1 to ${MAX_TARGET_PAGE}`);
    }
    if (!(await this.deps.pushes.summary(id))) throw notFound(`no push ${id}`);
    const page = await this.deps.pushes.targets(id, { status, after: query.cursor, limit: limit + 1 });
    const more = page.length > limit;
    const targets = more ? page.slice(0, limit) : page;
    return { targets, nextCursor: more ? targets.at(-1)!.deviceId : undefined };
  }

  async listByFirmware(actor: Actor, firmwareId: string): Promise<PushSummary[]> {
    requireRole(actor, 'viewer');
    if (!(await this.deps.firmwares.get(firmwareId))) throw notFound(`no firmware ${firmwareId}`);
    return this.deps.pushes.listByFirmware(firmwareId);
  }

  async listByDevice(actor: Actor, deviceId: string): Promise<DevicePush[]> {
    requireRole(actor, 'viewer');
    if (!(await this.deps.devices.get(deviceId))) throw notFound(`no device ${deviceId}`);
    return this.deps.pushes.listByDevice(deviceId);
  }

  /** Fails the active targets whose status's timeout passed; returns how many. */
  expireOverdue(): Promise<number> {
    return this.progress.expireOverdue();
  }

  /**
   * The part of a push a pushed download URL names, or undefined for a token no push issued. Anyone
   * may download a firmware; only the holder of the token moves that device's push.
   */
  async pushedDownload(token: string): Promise<PushedDownload | undefined> {
    if (!isDownloadToken(token)) return undefined;
    const target = await this.deps.pushes.targetByToken(hashDownloadToken(token));
    return target && { firmwareId: target.firmwareId, pushId: target.pushId, deviceId: target.deviceId };
  }

  /** The first bytes of a pushed download went out. */
  downloadStarted(download: PushedDownload): void {
    this.deps.events.publish({ type: 'firmware.download', ...download, at: this.deps.clock.now() });
  }

  private async devicesOf(firmware: Firmware, ids: readonly string[] | undefined): Promise<Device[]> {
    if (ids === undefined) return this.deps.devices.listByPrototype(firmware.prototypeId);
    return requireListed(ids, await this.deps.devices.getMany(ids), firmware);
  }

  private async onEvent(event: DomainEvent): Promise<void> {
    switch (event.type) {
      case 'device.online':
        return this.dispatcher.deliverQueued(event.deviceId);
      case 'device.reported':
        return this.progress.record({ kind: 'reported', deviceId: event.deviceId, version: event.version });
      case 'device.fotaing':
        return this.progress.record({ kind: 'fotaing', deviceId: event.deviceId });
      case 'device.acknowledged':
        return this.progress.record({ kind: 'acknowledged', ...event });
      case 'firmware.download':
        return this.progress.record({ kind: 'download', ...event });
      default:
        return;
    }
  }
}
