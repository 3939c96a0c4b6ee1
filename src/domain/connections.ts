import type { FotaCommand, Protocol } from './model.js';

/**
 * A live connection of an authenticated device, held by a transport adapter (the TCP command
 * server, the MQTT broker). The domain sends commands through it and never sees sockets.
 */
export interface DeviceConnection {
  readonly deviceId: string;
  readonly protocol: Protocol;
  /**
   * Sends a FOTA command in the transport's wire format. Resolves once it is written to the socket
   * (TCP) or queued by the broker (MQTT); `onDelivered` runs when the device acknowledged it (MQTT
   * QoS 1 PUBACK). Rejects when the connection is gone.
   */
  sendFota(command: FotaCommand, onDelivered?: () => void): Promise<void>;
  /** Ends the connection, for example when a newer one of the same device replaces it. */
  close(reason: string): void;
}
