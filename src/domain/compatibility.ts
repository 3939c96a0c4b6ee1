import type { Firmware, VersionPolicy } from './model.js';
import { compareVersions, isHigherVersion } from './version.js';

/** What a device runs, as far as compatibility is concerned. */
export interface CurrentFirmware {
  /** The firmware id, or undefined when the device never reported or its firmware was deleted. */
  readonly firmwareId: string | undefined;
  readonly version: string | undefined;
}

/**
 * The firmwares a device may be offered (the MCS "compatible firmware" rule):
 * firmwares whose prerequisites are `all` or include the one it runs, without the one it runs,
 * sorted by version; under the `increasing` policy only versions above the current one.
 * A device that never reported sees only firmwares whose prerequisites are `all`.
 */
export function availableFirmwares(
  firmwares: readonly Firmware[],
  current: CurrentFirmware,
  policy: VersionPolicy,
): Firmware[] {
  return firmwares.filter((firmware) => isCompatible(firmware, current, policy)).sort(byVersion);
}

export function isCompatible(firmware: Firmware, current: CurrentFirmware, policy: VersionPolicy): boolean {
  if (current.firmwareId !== undefined && firmware.id === current.firmwareId) return false;
  if (current.version !== undefined && firmware.version === current.version) return false;
  const prerequisitesMet =
    firmware.prerequisites === 'all' ||
    (current.firmwareId !== undefined && firmware.prerequisites.includes(current.firmwareId));
  if (!prerequisitesMet) return false;
  if (policy === 'increasing' && current.version !== undefined) {
    return isHigherVersion(firmware.version, current.version);
  }
  return true;
}

export function byVersion(a: Firmware, b: Firmware): number {
  return compareVersions(a.version, b.version);
}
