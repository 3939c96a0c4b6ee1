import type { AdminTokens } from '../domain/services/admin-tokens.js';
import type { DeviceSelfService } from '../domain/services/device-self.js';
import type { DeviceService } from '../domain/services/devices.js';
import type { FirmwareService } from '../domain/services/firmwares.js';
import type { PrototypeService } from '../domain/services/prototypes.js';

/** What the HTTP adapters call. Built once by the composition root. */
export interface HttpServices {
  readonly prototypes: PrototypeService;
  readonly devices: DeviceService;
  readonly firmwares: FirmwareService;
  readonly deviceSelf: DeviceSelfService;
  readonly adminTokens: AdminTokens;
  /** The public download URL of a firmware. */
  readonly firmwareUrl: (firmwareId: string) => string;
}
