import { createHash } from 'node:crypto';
import { isCompatible } from '../compatibility.js';
import { invalid } from '../errors.js';
import { isDeviceId, randomAlphanumeric } from '../ids.js';
import type { Device, Firmware, Protocol, VersionPolicy } from '../model.js';
import type { PushSelection, PushStatus } from '../push.js';

/** Which devices get a firmware: the listed ids, or a selection of the firmware's prototype. */
export interface PushRequest {
  readonly deviceIds?: readonly string[] | undefined;
  /** `all`: every device of the prototype; `online`: those connected now. Instead of `deviceIds`. */
  readonly selection?: 'all' | 'online' | undefined;
  /** Send even to devices whose firmware is not a prerequisite (or, under `increasing`, not lower). */
  readonly force?: boolean | undefined;
  /** Keep the push for offline devices and send it once when they next connect. */
  readonly queueOffline?: boolean | undefined;
}

/** The cap on listed ids; a selection has none. */
export const MAX_PUSH_DEVICES = 10_000;
/** Letters and digits of a download token: 21 of 62 symbols, about 125 bits. */
export const DOWNLOAD_TOKEN_LENGTH = 21;

export const newPushId = (): string => `U${randomAlphanumeric(11)}`;
export const newDownloadToken = (): string => randomAlphanumeric(DOWNLOAD_TOKEN_LENGTH);
/** Tokens are stored hashed: the database alone cannot mark a download. */
export const hashDownloadToken = (token: string): string => createHash('sha256').update(token).digest('hex');
export const isDownloadToken = (value: string): boolean => /^[A-Za-z0-9]{21}$/.test(value);

/** One device's part as the push starts; `token` only for targets that will be sent. */
export interface PlannedTarget {
  readonly deviceId: string;
  readonly status: PushStatus;
  readonly reason: string | undefined;
  readonly token: string | undefined;
  /** The protocol of its live connection, for those to send now. */
  readonly protocol: Protocol | undefined;
}

export function selectionOf(request: PushRequest): PushSelection {
  const hasIds = request.deviceIds !== undefined;
  if (hasIds === (request.selection !== undefined)) {
    throw invalid('a push names either deviceIds or a selection ("all" or "online"), not both and not neither');
  }
  return request.selection ?? 'ids';
}

/** The listed ids, checked: at least one, at most MAX_PUSH_DEVICES, each a device id; duplicates dropped. */
export function requestedIds(ids: readonly string[]): string[] {
  const deviceIds = [...new Set(ids)];
  if (deviceIds.length === 0) throw invalid('deviceIds must name at least one device');
  if (deviceIds.length > MAX_PUSH_DEVICES) throw invalid(`at most ${MAX_PUSH_DEVICES} devices per push`);
  const bad = deviceIds.find((id) => !isDeviceId(id));
  if (bad !== undefined) throw invalid(`${bad} is not a device id`);
  return deviceIds;
}

/** Orders `found` as `ids`; throws when one is missing or of another prototype. */
export function requireListed(ids: readonly string[], found: readonly Device[], firmware: Firmware): Device[] {
  const byId = new Map(found.map((device) => [device.id, device]));
  return ids.map((id) => {
    const device = byId.get(id);
    if (!device || device.prototypeId !== firmware.prototypeId) {
      throw invalid(`${id} is not a device of prototype ${firmware.prototypeId}`);
    }
    return device;
  });
}

/**
 * Who gets what, without side effects: `incompatible` unless forced, `queued` (to send now) for
 * connected devices, and for the others `queued` to wait for them with `queueOffline`, `offline`
 * otherwise.
 */
export function planTargets(input: {
  readonly firmware: Firmware;
  readonly policy: VersionPolicy;
  readonly devices: readonly Device[];
  readonly online: ReadonlyMap<string, Protocol>;
  readonly force: boolean;
  readonly queueOffline: boolean;
}): PlannedTarget[] {
  const { firmware, policy, online, force, queueOffline } = input;
  return input.devices.map((device) => {
    const target = (status: PushStatus, reason: string | undefined): PlannedTarget => ({
      deviceId: device.id,
      status,
      reason,
      token: status === 'queued' ? newDownloadToken() : undefined,
      protocol: status === 'queued' ? online.get(device.id) : undefined,
    });
    const current = { firmwareId: device.reported?.firmwareId, version: device.reported?.version };
    if (!force && !isCompatible(firmware, current, policy)) {
      return target('incompatible', incompatibility(firmware, device, policy));
    }
    const protocol = online.get(device.id);
    if (protocol !== undefined) return target('queued', `sending over ${protocol}`);
    return queueOffline
      ? target('queued', 'waiting for the device to connect')
      : target('offline', 'the device is not connected');
  });
}

function incompatibility(firmware: Firmware, device: Device, policy: VersionPolicy): string {
  if (device.reported === undefined) return 'the device never reported a firmware and this one has prerequisites';
  if (policy === 'increasing') {
    return `the device runs ${device.reported.version}; this prototype only moves to higher versions`;
  }
  return `the device runs ${device.reported.version}, which is not a prerequisite of ${firmware.version}`;
}
