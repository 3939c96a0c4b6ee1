import type { PushTimeouts } from '../domain/push.js';
import type { Reader } from './readers.js';

export interface PushConfig {
  /** How long a push target may stay in each active status before it fails. */
  readonly pushTimeouts: PushTimeouts;
}

export const pushVariables = [
  ['FOTA_PUSH_QUEUED_TIMEOUT_S', '86400', 'seconds a queued push waits for its offline device to connect'],
  [
    'FOTA_PUSH_SENT_TIMEOUT_S',
    '600',
    'seconds a sent push waits for the device to acknowledge it or start the download',
  ],
  ['FOTA_PUSH_DELIVERED_TIMEOUT_S', '600', 'seconds an acknowledged push waits for the download to start'],
  [
    'FOTA_PUSH_DOWNLOADING_TIMEOUT_S',
    '3600',
    'seconds a started download waits for the device to report the new version',
  ],
] as const;

export function readPushes(reader: Reader): PushConfig {
  return {
    pushTimeouts: {
      queued: reader.seconds('FOTA_PUSH_QUEUED_TIMEOUT_S', '86400'),
      sent: reader.seconds('FOTA_PUSH_SENT_TIMEOUT_S', '600'),
      delivered: reader.seconds('FOTA_PUSH_DELIVERED_TIMEOUT_S', '600'),
      downloading: reader.seconds('FOTA_PUSH_DOWNLOADING_TIMEOUT_S', '3600'),
    },
  };
}
