import type { Reader } from './readers.js';

/** Device sockets over TCP and MQTT, what they may hold and send, and the largest firmware. */
export interface DeviceConfig {
  readonly maxFirmwareBytes: number;
  /** A TCP connection without a valid heartbeat for this long is closed. */
  readonly tcpHeartbeatTimeoutMs: number;
  /** Echo each heartbeat back, as MCS did. */
  readonly tcpEchoHeartbeat: boolean;
  readonly mqttPort: number;
  /** Device sockets (TCP and MQTT together) one process accepts. */
  readonly maxDeviceConnections: number;
  /** Of those, how many may be held by sockets that have not identified a device yet. */
  readonly maxUnidentifiedConnections: number;
  /** The largest MQTT packet a client may send. */
  readonly mqttMaxPacketBytes: number;
  /** An MQTT client that proves no device within this time is closed. */
  readonly mqttIdentifyTimeoutMs: number;
  /** Data channels one device may have. */
  readonly maxChannelsPerDevice: number;
  /** The least time between two messages written to one TCP device. */
  readonly tcpWriteGapMs: number;
}

/** `fota serve --help` lists the authentication settings between these two groups. */
export const deviceVariables = {
  sockets: [
    ['FOTA_MAX_FIRMWARE_BYTES', '1073741824', 'largest firmware accepted, in bytes (1 GiB)'],
    ['FOTA_TCP_HEARTBEAT_TIMEOUT_S', '120', 'seconds a TCP connection may stay without a valid heartbeat'],
    ['FOTA_TCP_ECHO_HEARTBEAT', 'true', 'echo each TCP heartbeat back to the device, as MCS did (true or false)'],
    ['FOTA_MQTT_PORT', '1883', 'port of the embedded MQTT broker'],
    [
      'FOTA_MAX_DEVICE_CONNECTIONS',
      '18000',
      'device sockets (TCP and MQTT together) one process accepts; keep it below the open-file limit (ulimit -n) so the HTTP API stays reachable',
    ],
    [
      'FOTA_MAX_UNIDENTIFIED_CONNECTIONS',
      '(FOTA_MAX_DEVICE_CONNECTIONS)',
      'of those, places sockets may hold before they identify a device (a valid TCP heartbeat, an MQTT subscribe or publish with a valid key); past it, or when the budget is full, the oldest of them is closed for a newcomer',
    ],
    [
      'FOTA_MQTT_MAX_PACKET_BYTES',
      '8192',
      'largest MQTT packet a client may send; a header that declares more drops the socket at once',
    ],
    [
      'FOTA_MQTT_IDENTIFY_TIMEOUT_S',
      '30',
      'seconds an MQTT client may stay without subscribing or publishing under a device with a valid key',
    ],
  ],
  traffic: [
    [
      'FOTA_MAX_CHANNELS_PER_DEVICE',
      '100',
      'data channels one device may have; data points for a new channel past it are refused',
    ],
    [
      'FOTA_TCP_WRITE_GAP_MS',
      '1000',
      'least milliseconds between two messages to one TCP device: MCS clients read one message per recv and drop a second one read with it',
    ],
  ],
} as const;

export function readDevices(reader: Reader): DeviceConfig {
  const maxFirmwareBytes = reader.integer(
    'FOTA_MAX_FIRMWARE_BYTES',
    String(1024 ** 3),
    1,
    Number.MAX_SAFE_INTEGER,
    (text) => `FOTA_MAX_FIRMWARE_BYTES must be a positive whole number of bytes, not "${text}"`,
  );
  const tcpHeartbeatTimeoutMs = reader.seconds('FOTA_TCP_HEARTBEAT_TIMEOUT_S', '120');
  const tcpWriteGapMs = reader.integer(
    'FOTA_TCP_WRITE_GAP_MS',
    '1000',
    0,
    60_000,
    (text) => `FOTA_TCP_WRITE_GAP_MS must be a whole number of milliseconds from 0 to 60000, not "${text}"`,
  );
  const tcpEchoHeartbeat = reader.flag('FOTA_TCP_ECHO_HEARTBEAT', 'true') === true;
  const mqttPort = reader.port('FOTA_MQTT_PORT', '1883');
  const maxDeviceConnections = reader.integer('FOTA_MAX_DEVICE_CONNECTIONS', '18000', 1, 10_000_000);
  // By default unidentified sockets may use the whole budget: they are only the first to be shed, so
  // that a reconnect storm (every device at once after an outage) sheds nobody while there is room.
  const maxUnidentifiedConnections =
    reader.text('FOTA_MAX_UNIDENTIFIED_CONNECTIONS', '') === ''
      ? maxDeviceConnections
      : Math.min(maxDeviceConnections, reader.integer('FOTA_MAX_UNIDENTIFIED_CONNECTIONS', '', 1, 10_000_000));
  return {
    maxFirmwareBytes,
    tcpHeartbeatTimeoutMs,
    tcpEchoHeartbeat,
    mqttPort,
    maxDeviceConnections,
    maxUnidentifiedConnections,
    // A CONNECT with a client id, a will and its topic needs a few hundred bytes; MQTT's own limit is 256 MiB.
    mqttMaxPacketBytes: reader.integer('FOTA_MQTT_MAX_PACKET_BYTES', '8192', 512, 268_435_455),
    mqttIdentifyTimeoutMs: reader.seconds('FOTA_MQTT_IDENTIFY_TIMEOUT_S', '30'),
    maxChannelsPerDevice: reader.integer('FOTA_MAX_CHANNELS_PER_DEVICE', '100', 1, 100_000),
    tcpWriteGapMs,
  };
}
