import { timingSafeEqual } from 'node:crypto';
import { requireDevice } from '../access.js';
import { availableFirmwares, type CurrentFirmware } from '../compatibility.js';
import { DomainError, notFound } from '../errors.js';
import type { Actor, Board, Device, Firmware, VersionPolicy } from '../model.js';
import type { EventBus } from '../events.js';
import type { Clock, DeviceRepository, FirmwareRepository, PrototypeRepository } from '../ports.js';

export type DeviceActor = Extract<Actor, { kind: 'device' }>;

/**
 * A device that proved who it is for one request, with its record as read to check its key: the
 * service methods use that record instead of reading it again. Hold it for one request only; a
 * long-lived session keeps the plain actor of `authenticate`, since the record would grow stale.
 */
export type DeviceCaller = DeviceActor & { readonly device: Device };

/**
 * Past this many answers kept for one firmware list (one per policy and current firmware, so about
 * one per firmware of the prototype), the list's answers are dropped and computed again. It bounds
 * what one prototype keeps, with the MCS routes' bytes of each answer, to 256 answers.
 */
const MAX_OFFERS_PER_LIST = 256;

export interface TcpEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * What a device may do for itself, whatever protocol it speaks: prove who it is, report the firmware
 * it runs, and learn which firmware it may move to and where to fetch it.
 */
export class DeviceSelfService {
  constructor(
    private readonly deps: {
      readonly devices: DeviceRepository;
      readonly firmwares: FirmwareRepository;
      readonly prototypes: PrototypeRepository;
      readonly clock: Clock;
      readonly events: EventBus;
      readonly tcpEndpoint: TcpEndpoint;
    },
  ) {}

  /**
   * The answers of `availableFirmwares`, per shared firmware list (the repository hands out the
   * same list until a firmware of the prototype is written, so a write leaves these behind), then
   * per version policy and current firmware.
   */
  private readonly offers = new WeakMap<readonly Firmware[], Map<string, readonly Firmware[]>>();

  /** The device's identity when `key` is its key, compared in constant time. */
  async authenticate(deviceId: string, key: string | undefined): Promise<DeviceActor> {
    const { kind, prototypeId } = await this.authenticateRequest(deviceId, key);
    return { kind, deviceId, prototypeId };
  }

  /** Like `authenticate`, with the device's record for the rest of this one request. */
  async authenticateRequest(deviceId: string, key: string | undefined): Promise<DeviceCaller> {
    const device = await this.deps.devices.get(deviceId);
    if (!device) throw notFound(`no device ${deviceId}`);
    if (key === undefined || !sameKey(device.key, key)) {
      throw new DomainError('unauthenticated', 'wrong or missing device key');
    }
    return { kind: 'device', deviceId: device.id, prototypeId: device.prototypeId, device };
  }

  /**
   * For a protocol where the device never sends its key but encrypts with it (LinkIt Connect 7681):
   * `proves` gets the stored key and says whether the device's message decrypts with it. Answers
   * the identity with the key, which the session needs for every later message; never log it.
   * With `board`, a device of a prototype for other boards is not found.
   */
  async authenticateByProof(
    deviceId: string,
    proves: (key: string) => boolean,
    board?: Board,
  ): Promise<DeviceActor & { readonly key: string }> {
    const device = await this.deps.devices.get(deviceId);
    if (!device) throw notFound(`no device ${deviceId}`);
    if (board !== undefined && (await this.deps.prototypes.get(device.prototypeId))?.board !== board) {
      throw notFound(`device ${deviceId} is not a ${board} device`);
    }
    if (!proves(device.key))
      throw new DomainError('unauthenticated', 'the message does not decrypt with the device key');
    return { kind: 'device', deviceId: device.id, prototypeId: device.prototypeId, key: device.key };
  }

  /** Records the firmware the device runs; the version must be one uploaded for its prototype. */
  async reportFirmware(actor: Actor, deviceId: string, version: string): Promise<Firmware> {
    const device = await this.requireSelf(actor, deviceId);
    const firmware = await this.deps.firmwares.findByVersion(device.prototypeId, version);
    if (!firmware) throw notFound(`prototype ${device.prototypeId} has no firmware version ${version}`);
    const now = this.deps.clock.now();
    await this.deps.devices.update({
      ...device,
      reported: { firmwareId: firmware.id, version: firmware.version, reportedAt: now },
    });
    this.deps.events.publish({
      type: 'device.reported',
      deviceId,
      firmwareId: firmware.id,
      version: firmware.version,
      at: now,
    });
    return firmware;
  }

  /**
   * The firmwares the device may move to: from what it reported, or, with `version`, from that
   * version of its prototype (not found when the prototype has no such version). The same answer
   * comes back as the same array while nothing it depends on changed: callers may key on it.
   */
  async availableFirmwares(actor: Actor, deviceId: string, version?: string): Promise<readonly Firmware[]> {
    const device = await this.requireSelf(actor, deviceId);
    const [prototype, firmwares] = await Promise.all([
      this.deps.prototypes.get(device.prototypeId),
      this.deps.firmwares.sharedListByPrototype(device.prototypeId),
    ]);
    if (!prototype) throw notFound(`no prototype ${device.prototypeId}`);
    let current: CurrentFirmware = {
      firmwareId: device.reported?.firmwareId,
      version: device.reported?.version,
    };
    if (version !== undefined) {
      const firmware = firmwares.find((candidate) => candidate.version === version);
      if (!firmware) throw notFound(`prototype ${prototype.id} has no firmware version ${version}`);
      current = { firmwareId: firmware.id, version: firmware.version };
    }
    return this.offer(firmwares, current, prototype.versionPolicy);
  }

  /** A firmware of the device's own prototype; another prototype's firmware is not found. */
  async firmware(actor: Actor, deviceId: string, firmwareId: string): Promise<Firmware> {
    const device = await this.requireSelf(actor, deviceId);
    const firmware = await this.deps.firmwares.get(firmwareId);
    if (!firmware || firmware.prototypeId !== device.prototypeId) throw notFound(`no firmware ${firmwareId}`);
    return firmware;
  }

  /** Where the device's TCP command connection goes (MCS `connections`). */
  async tcpEndpoint(actor: Actor, deviceId: string): Promise<TcpEndpoint> {
    await this.requireSelf(actor, deviceId);
    return this.deps.tcpEndpoint;
  }

  /** The device itself: the record its request was authenticated with, or a fresh read. */
  private async requireSelf(actor: Actor, deviceId: string): Promise<Device> {
    const self = requireDevice(actor, deviceId);
    if (isCaller(self) && self.device.id === deviceId) return self.device;
    const device = await this.deps.devices.get(deviceId);
    if (!device) throw notFound(`no device ${deviceId}`);
    return device;
  }

  private offer(firmwares: readonly Firmware[], current: CurrentFirmware, policy: VersionPolicy): readonly Firmware[] {
    let answers = this.offers.get(firmwares);
    if (!answers) {
      answers = new Map();
      this.offers.set(firmwares, answers);
    }
    // Firmware ids and policies hold no NUL; the version, free text, comes last.
    const key = `${policy}\0${current.firmwareId ?? ''}\0${current.version === undefined ? '-' : `+${current.version}`}`;
    let answer = answers.get(key);
    if (!answer) {
      if (answers.size >= MAX_OFFERS_PER_LIST) answers.clear();
      answer = Object.freeze(availableFirmwares(firmwares, current, policy));
      answers.set(key, answer);
    }
    return answer;
  }
}

const isCaller = (actor: DeviceActor): actor is DeviceCaller => 'device' in actor;

function sameKey(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
