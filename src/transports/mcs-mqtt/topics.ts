import { fotaMessage } from '../mcs/fota-message.js';
import { isDeviceId, isDeviceKey } from '../../domain/ids.js';
import type { FotaCommand } from '../../domain/model.js';

/** The fields of a FOTA command that the MCS message carries. */
type McsFota = Pick<FotaCommand, 'timestamp' | 'version' | 'md5' | 'url'>;

/**
 * MCS topics: every device topic starts `mcs/:deviceId/:deviceKey`, the key being the credential.
 * Pure functions, no broker code.
 */

/** The channel a FOTA command is published on, under the device's prefix. */
export const FOTA_CHANNEL = 'FOTA';

export interface DeviceCredentials {
  readonly deviceId: string;
  readonly deviceKey: string;
}

/** A topic a device published to: its prefix, and the data channel when there is a fourth level. */
export interface PublishTopic extends DeviceCredentials {
  readonly channelId: string | undefined;
}

/** Ids and keys are short letters and digits; anything long or odd is refused before a lookup. */
const CREDENTIAL = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The device a subscription filter is confined to: one whose first three levels are `mcs`, an id
 * and a key written out (no wildcard). Such a filter can only match topics under that prefix,
 * whatever wildcards follow, so `mcs/ID/KEY/+` and `mcs/ID/KEY/#` are confined, `mcs/+/…` is not.
 */
export function deviceOfFilter(filter: string): DeviceCredentials | undefined {
  const levels = filter.split('/');
  const [root, deviceId, deviceKey] = levels;
  if (root !== 'mcs' || deviceId === undefined || deviceKey === undefined) return undefined;
  if (!CREDENTIAL.test(deviceId) || !CREDENTIAL.test(deviceKey)) return undefined;
  return { deviceId, deviceKey };
}

/** `mcs/ID/KEY` (several data points) or `mcs/ID/KEY/CHANNEL` (one channel); nothing deeper. */
export function parsePublishTopic(topic: string): PublishTopic | undefined {
  const levels = topic.split('/');
  if (levels.length < 3 || levels.length > 4) return undefined;
  const [root, deviceId, deviceKey, channelId] = levels;
  if (root !== 'mcs' || !deviceId || !deviceKey || !CREDENTIAL.test(deviceId) || !CREDENTIAL.test(deviceKey)) {
    return undefined;
  }
  if (channelId === '') return undefined;
  return { deviceId, deviceKey, channelId };
}

export const devicePrefix = (device: DeviceCredentials): string => `mcs/${device.deviceId}/${device.deviceKey}`;

export const fotaTopic = (device: DeviceCredentials): string => `${devicePrefix(device)}/${FOTA_CHANNEL}`;

/** True for `mcs/ID/KEY/FOTA`, where only FOTA commands go (a device's own publishes there are dropped). */
export function isFotaTopic(topic: string | undefined): boolean {
  if (topic === undefined) return false;
  const levels = topic.split('/');
  return levels.length === 4 && levels[0] === 'mcs' && levels[3] === FOTA_CHANNEL;
}

/** True when `topic` is the device's prefix or lies under it. */
export function isUnder(topic: string, device: DeviceCredentials): boolean {
  const prefix = devicePrefix(device);
  return topic === prefix || topic.startsWith(`${prefix}/`);
}

/** MQTT topic matching: `+` is one level, a final `#` is this level and every one below. */
export function filterMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let index = 0; index < filterLevels.length; index++) {
    const level = filterLevels[index];
    if (level === '#') return index === filterLevels.length - 1;
    if (index >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[index]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

/**
 * The topic with every level that may be a device key masked, for logs: device keys are
 * credentials, and a refused topic is whatever a client sent (`/mcs/…`, `$share/g/mcs/…`). Masked:
 * a level shaped like a key (16 letters and digits) wherever it is, the level after one shaped like
 * a device id, and the second level after an `mcs` level. Wildcards stay readable.
 */
export function redactTopic(topic: string): string {
  const levels = topic.split('/');
  return levels
    .map((level, index) => {
      if (level === '' || level === '+' || level === '#') return level;
      const afterDeviceId = index >= 1 && isDeviceId(levels[index - 1]!);
      const afterMcs = index >= 2 && levels[index - 2]!.toLowerCase() === 'mcs';
      return isDeviceKey(level) || afterDeviceId || afterMcs ? '***' : level;
    })
    .join('/');
}

/** The FOTA payload on `mcs/ID/KEY/FOTA`: the MCS FOTA message, the same as the TCP line's tail. */
export const formatFotaPayload = (command: McsFota): string => fotaMessage(command);
