import type { EventBus } from '../domain/events.js';
import type { AccountService } from '../domain/services/accounts.js';
import type { AdminTokens } from '../domain/services/admin-tokens.js';
import type { AuditService } from '../domain/services/audit.js';
import type { DeviceConnections } from '../domain/services/connections.js';
import type { DataPointService } from '../domain/services/data-points.js';
import type { DeviceSelfService } from '../domain/services/device-self.js';
import type { DeviceService } from '../domain/services/devices.js';
import type { FirmwareService } from '../domain/services/firmwares.js';
import type { PrototypeService } from '../domain/services/prototypes.js';
import type { PushService } from '../domain/services/pushes.js';
import type { SigningService } from '../domain/services/signing.js';
import type { WebhookService } from '../domain/services/webhooks.js';

/** What the HTTP adapters call. Built once by the composition root. */
export interface HttpServices {
  readonly prototypes: PrototypeService;
  readonly devices: DeviceService;
  readonly firmwares: FirmwareService;
  readonly deviceSelf: DeviceSelfService;
  readonly connections: DeviceConnections;
  readonly dataPoints: DataPointService;
  readonly pushes: PushService;
  readonly signing: SigningService;
  readonly events: EventBus;
  readonly adminTokens: AdminTokens;
  readonly accounts: AccountService;
  /** The audit log: every management action is recorded, admins read it. */
  readonly audit: AuditService;
  /** Webhook subscriptions and their deliveries; absent in test rigs that build services by hand. */
  readonly webhooks?: WebhookService;
  /** The public download URL of a firmware. */
  readonly firmwareUrl: (firmwareId: string) => string;
  /**
   * In redirect mode (S3 only), the URL a download answers 302 to (presigned, or on the CDN);
   * undefined: fota streams the bytes itself.
   */
  readonly downloadRedirect?: DownloadRedirect | undefined;
  /** Where devices reach this server, read when asked (the ports are known once it listens). */
  readonly endpoints: () => ServerEndpoints;
}

/** A URL of a blob's bytes that a download is sent to, answered with this Content-Disposition. */
export type DownloadRedirect = (blob: {
  readonly sha256: string;
  readonly contentDisposition: string;
}) => Promise<string>;

/** The public addresses of the server's three device-facing parts. */
export interface ServerEndpoints {
  /** Base of the MCS device API and of download URLs (FOTA_PUBLIC_URL). */
  readonly publicUrl: string;
  /** The TCP command server, as `connections.csv` answers it. */
  readonly tcp: { readonly host: string; readonly port: number };
  /** The MQTT broker: on the same host as the TCP command server. */
  readonly mqtt: { readonly host: string; readonly port: number };
}
