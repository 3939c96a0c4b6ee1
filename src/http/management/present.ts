import type { Firmware, Prototype } from '../../domain/model.js';
import type { DevicePush, PushRecord, PushSummary, PushTarget } from '../../domain/push.js';
import { HIDDEN_KEY, type DeviceOverview } from '../../domain/services/devices.js';
import type {
  DeviceBody,
  DevicePushBody,
  FirmwareBody,
  PrototypeBody,
  PushBody,
  PushTargetBody,
} from '../../contract/schemas.js';

/** From domain records to the management API's JSON. */
export const presentPrototype = (prototype: Prototype): PrototypeBody => ({
  prototypeId: prototype.id,
  name: prototype.name,
  description: prototype.description,
  versionPolicy: prototype.versionPolicy,
  board: prototype.board,
  createdAt: prototype.createdAt.toISOString(),
});

export const presentDevice = ({ device, presence, channels }: DeviceOverview): DeviceBody => ({
  deviceId: device.id,
  deviceKey: device.key === HIDDEN_KEY ? null : device.key,
  prototypeId: device.prototypeId,
  name: device.name,
  description: device.description,
  firmware: device.reported
    ? {
        fwId: device.reported.firmwareId ?? null,
        version: device.reported.version,
        reportedAt: device.reported.reportedAt.toISOString(),
      }
    : null,
  presence: {
    online: presence.online,
    protocol: presence.protocol ?? null,
    since: presence.since?.toISOString() ?? null,
    lastSeen: presence.lastSeen?.toISOString() ?? null,
  },
  channels: channels.map((channel) => ({
    channelId: channel.channelId,
    values: { ...channel.values },
    timestamp: channel.timestamp.toISOString(),
  })),
  createdAt: device.createdAt.toISOString(),
});

const presentRecord = (push: PushRecord) => ({
  pushId: push.id,
  fwId: push.firmwareId,
  prototypeId: push.prototypeId,
  version: push.version,
  createdBy: push.createdBy,
  createdAt: push.createdAt.toISOString(),
  force: push.force,
  queueOffline: push.queueOffline,
  selection: push.selection,
});

export const presentPush = (push: PushSummary): PushBody => ({
  ...presentRecord(push),
  status: push.phase,
  total: push.total,
  counts: { ...push.counts },
});

export const presentTarget = (target: PushTarget): PushTargetBody => ({
  deviceId: target.deviceId,
  status: target.status,
  reason: target.reason ?? null,
  updatedAt: target.updatedAt.toISOString(),
  deadline: target.deadline?.toISOString() ?? null,
  history: target.history.map((step) => ({
    status: step.status,
    reason: step.reason ?? null,
    at: step.at.toISOString(),
  })),
});

export const presentDevicePush = (push: DevicePush): DevicePushBody => ({
  ...presentRecord(push),
  target: presentTarget(push.target),
});

export const presentFirmware = (firmware: Firmware, url: string): FirmwareBody => ({
  fwId: firmware.id,
  prototypeId: firmware.prototypeId,
  name: firmware.name,
  version: firmware.version,
  releaseNote: firmware.releaseNote,
  fileName: firmware.fileName,
  size: firmware.size,
  md5: firmware.md5,
  sha256: firmware.sha256,
  prerequisites: firmware.prerequisites === 'all' ? 'all' : [...firmware.prerequisites],
  url,
  createdAt: firmware.createdAt.toISOString(),
});
