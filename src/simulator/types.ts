/** The vocabulary of the device simulator: what a simulated device is, does and reports. */

export type SimulatedProtocol = 'tcp' | 'mqtt';

/** The MQTT protocol a simulated device speaks: 3 is MQTT 3.1 (MediaTek's C clients), 4 is 3.1.1 (mqtt.js). */
export type MqttProtocolVersion = 3 | 4;

/** A device as the management API created it: the identity it talks to the MCS device API with. */
export interface DeviceIdentity {
  readonly deviceId: string;
  readonly deviceKey: string;
  readonly name: string;
}

/** A FOTA command as a device reads it from a TCP line or an MQTT payload. */
export interface FotaMessage {
  /** As sent: 13-digit milliseconds, `0`, or anything else the server wrote. */
  readonly timestamp: string;
  readonly version: string;
  /** Hex digest, or undefined when the server sent the literal `null`. */
  readonly md5: string | undefined;
  readonly url: string;
}

/**
 * The MQTT broker of a simulation: given (`--mqtt-url`, FOTA_MQTT_URL), named by the server
 * (`GET /api/v1/server`), or the default `mqtt://<host of the URL>:1883` when the server does not say.
 */
export interface MqttBroker {
  readonly url: string;
  readonly from: 'option' | 'server' | 'default';
}

/** Where a device's life stands: what the live summary counts. */
export type DeviceState = 'starting' | 'connecting' | 'connected' | 'stopped';

/** Everything a simulation tells its listener, in the order it happens. */
export type SimulationEvent =
  | {
      readonly type: 'simulation.started';
      readonly prototypeId: string;
      readonly startVersion: string;
      readonly tcp: number;
      readonly mqtt: number;
      /** The broker MQTT devices connect to, and who chose it; undefined without MQTT devices. */
      readonly broker: MqttBroker | undefined;
    }
  | { readonly type: 'device.reported'; readonly deviceId: string; readonly version: string }
  | { readonly type: 'device.connected'; readonly deviceId: string; readonly protocol: SimulatedProtocol }
  | {
      readonly type: 'device.disconnected';
      readonly deviceId: string;
      readonly protocol: SimulatedProtocol;
      readonly reason: string;
      /** Milliseconds until the next attempt. */
      readonly retryInMs: number;
    }
  | {
      /** The first connection of its kind that failed or was lost (the next ones are only counted). */
      readonly type: 'connection.problem';
      readonly deviceId: string;
      readonly protocol: SimulatedProtocol;
      readonly reason: string;
    }
  | { readonly type: 'device.problem'; readonly deviceId: string; readonly message: string }
  | { readonly type: 'fota.received'; readonly deviceId: string; readonly fota: FotaMessage }
  | { readonly type: 'fota.downloading'; readonly deviceId: string; readonly version: string }
  | { readonly type: 'fota.upgraded'; readonly deviceId: string; readonly version: string; readonly bytes: number }
  | { readonly type: 'fota.failed'; readonly deviceId: string; readonly version: string; readonly reason: string };

export type SimulationListener = (event: SimulationEvent) => void;
