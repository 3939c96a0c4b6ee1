import type { DeviceCommand, Presence, Protocol } from './model.js';

/**
 * The way the domain reaches connected devices, wherever they are connected: `send` answers whether
 * a live connection took the command. What devices do in return (acknowledge, start a download,
 * report a version, connect, disconnect) comes back as events on the bus, never as callbacks.
 */
export interface DeviceGateway {
  /** Hands the command to the device's newest live connection. */
  send(deviceId: string, command: DeviceCommand): Promise<SendResult>;
  /** The devices among `deviceIds` that have a live connection now, with its protocol. */
  online(deviceIds: readonly string[]): Promise<ReadonlyMap<string, Protocol>>;
  /**
   * The presence of each of `deviceIds` (one entry each), wherever the device is connected: online
   * over its newest connection's protocol since when. A device connected nowhere is as this node
   * last saw it. One lookup for the whole page of devices, not one per device.
   */
  presenceOf(deviceIds: readonly string[]): Promise<ReadonlyMap<string, Presence>>;
  /** Closes every live connection of the device, for example after its key was rotated. */
  disconnect(deviceId: string, reason: string): void;
}

export type SendResult =
  { readonly taken: true; readonly protocol: Protocol } | { readonly taken: false; readonly reason: string };

/**
 * A live connection of an authenticated device, held by a transport adapter (the TCP command
 * server, the MQTT broker) and registered with the local gateway. It never sees the domain's
 * services: acknowledgements go out as `device.acknowledged` events.
 */
export interface DeviceConnection {
  readonly deviceId: string;
  readonly protocol: Protocol;
  /**
   * Writes the command in the transport's wire format. Resolves once it is written to the socket
   * (TCP) or queued by the broker (MQTT); rejects when the connection is gone or the command cannot
   * be formatted for it.
   */
  send(command: DeviceCommand): Promise<void>;
  /** Ends the connection, for example when a newer one of the same device replaces it. */
  close(reason: string): void;
}
