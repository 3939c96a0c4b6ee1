import { invalid } from '../../domain/errors.js';
import type { FotaCommand } from '../../domain/model.js';

/** The fields of a FOTA command that the MCS message carries. */
type McsFota = Pick<FotaCommand, 'timestamp' | 'version' | 'md5' | 'url'>;

const LATEST_13_DIGIT_MS = 9_999_999_999_999;

/** Throws `invalid_input` unless the field can stand between commas for clients that split on `,`. */
export function requireFotaField(name: string, value: string): void {
  if (value === '') throw invalid(`the ${name} FOTA field must not be empty`);
  // eslint-disable-next-line no-control-regex
  if (/[,\u0000-\u001f\u007f]/.test(value)) {
    throw invalid(`the ${name} FOTA field must hold no comma and no control character`);
  }
}

/**
 * The MCS FOTA message both transports send: `timestamp,FOTA,version,MD5,URL` (the MQTT payload, and
 * the TCP line after `deviceId,deviceKey,`). The timestamp has 13 digits; the MD5 is lowercase hex,
 * or `null` when unknown, never empty (mcs.c splits with `strtok`, which merges empty fields).
 */
export function fotaMessage(command: McsFota): string {
  const { timestamp } = command;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > LATEST_13_DIGIT_MS) {
    throw invalid(`a FOTA timestamp must be Unix milliseconds of at most 13 digits, not ${timestamp}`);
  }
  const md5 = command.md5 === '' ? 'null' : command.md5.toLowerCase();
  requireFotaField('version', command.version);
  requireFotaField('MD5', md5);
  requireFotaField('URL', command.url);
  return `${String(timestamp).padStart(13, '0')},FOTA,${command.version},${md5},${command.url}`;
}
