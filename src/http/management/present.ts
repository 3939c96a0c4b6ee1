import type { Device, Firmware, Prototype } from '../../domain/model.js';
import type { DeviceBody, FirmwareBody, PrototypeBody } from './schemas.js';

/** From domain records to the management API's JSON. */
export const presentPrototype = (prototype: Prototype): PrototypeBody => ({
  prototypeId: prototype.id,
  name: prototype.name,
  description: prototype.description,
  versionPolicy: prototype.versionPolicy,
  createdAt: prototype.createdAt.toISOString(),
});

export const presentDevice = (device: Device): DeviceBody => ({
  deviceId: device.id,
  deviceKey: device.key,
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
  createdAt: device.createdAt.toISOString(),
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
