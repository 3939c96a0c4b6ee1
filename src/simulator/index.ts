/**
 * The device simulator: simulated MCS devices (TCP and MQTT) that report, connect, receive FOTA,
 * download and upgrade like real clients. `fota simulate` runs it from the command line; tests and
 * benchmarks run it in-process.
 */
export { Backoff, defaultBackoff, type BackoffPolicy } from './backoff.js';
export { DeviceApiError, DeviceHttp, downloadFirmware, type Download, type TcpEndpoint } from './device-http.js';
export {
  classifyMqttPayload,
  classifyTcpMessage,
  splitLikeStrtok,
  TcpMessageReader,
  type MqttMessage,
  type TcpMessage,
} from './fota-message.js';
export { habitFor, heartbeatHabits, type HeartbeatHabit } from './heartbeats.js';
export { lowestFirmwareVersion, provisionDevices, simulatedDeviceName } from './provision.js';
export { SimulatedDevice, type DeviceSnapshot, type SimulatedDeviceOptions } from './simulated-device.js';
export {
  defaultMqttUrl,
  planDevices,
  runSimulation,
  statsOf,
  type FailureRecord,
  type ProtocolChoice,
  type SimulationOptions,
  type SimulationRun,
  type SimulationStats,
  type SimulationSummary,
} from './simulation.js';
export type * from './types.js';
