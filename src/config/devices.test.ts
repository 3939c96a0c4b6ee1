import { describe } from 'vitest';
import { itRefusesEach } from './testing/problems.js';

describe('device connection settings', () => {
  itRefusesEach([
    ['FOTA_TCP_HEARTBEAT_TIMEOUT_S', '0', /FOTA_TCP_HEARTBEAT_TIMEOUT_S must be a number of seconds above 0/],
    ['FOTA_TCP_HEARTBEAT_TIMEOUT_S', 'soon', /FOTA_TCP_HEARTBEAT_TIMEOUT_S must be a number of seconds/],
    ['FOTA_TCP_WRITE_GAP_MS', '1.5', /FOTA_TCP_WRITE_GAP_MS must be a whole number of milliseconds/],
    ['FOTA_TCP_WRITE_GAP_MS', '60001', /FOTA_TCP_WRITE_GAP_MS must be a whole number of milliseconds/],
    ['FOTA_TCP_ECHO_HEARTBEAT', 'maybe', /FOTA_TCP_ECHO_HEARTBEAT must be true or false/],
    ['FOTA_MQTT_PORT', '99999', /FOTA_MQTT_PORT must be a port number/],
    ['FOTA_MAX_DEVICE_CONNECTIONS', '0', /FOTA_MAX_DEVICE_CONNECTIONS must be a whole number from 1/],
    ['FOTA_MAX_DEVICE_CONNECTIONS', 'many', /FOTA_MAX_DEVICE_CONNECTIONS must be a whole number/],
    ['FOTA_MAX_UNIDENTIFIED_CONNECTIONS', '0', /FOTA_MAX_UNIDENTIFIED_CONNECTIONS must be a whole number from 1/],
    ['FOTA_MQTT_MAX_PACKET_BYTES', '100', /FOTA_MQTT_MAX_PACKET_BYTES must be a whole number from 512 to 268435455/],
    ['FOTA_MQTT_MAX_PACKET_BYTES', '1e6', /FOTA_MQTT_MAX_PACKET_BYTES must be a whole number/],
    ['FOTA_MQTT_IDENTIFY_TIMEOUT_S', '0', /FOTA_MQTT_IDENTIFY_TIMEOUT_S must be a number of seconds above 0/],
    ['FOTA_MAX_CHANNELS_PER_DEVICE', '0', /FOTA_MAX_CHANNELS_PER_DEVICE must be a whole number from 1/],
    ['FOTA_MAX_FIRMWARE_BYTES', '0', /positive whole number of bytes, not "0"/],
    ['FOTA_MAX_FIRMWARE_BYTES', '-5', /positive whole number/],
    ['FOTA_MAX_FIRMWARE_BYTES', '1.5', /positive whole number/],
    ['FOTA_MAX_FIRMWARE_BYTES', '1e9', /positive whole number/],
    ['FOTA_MAX_FIRMWARE_BYTES', '1GB', /positive whole number/],
    ['FOTA_MAX_FIRMWARE_BYTES', '99999999999999999999', /positive whole number/],
  ]);
});
