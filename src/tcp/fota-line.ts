import { invalid } from '../domain/errors.js';
import type { FotaCommand } from '../domain/model.js';

/** mcs.c reads each message with one `recv` into a 200-byte buffer: a line must stay below it. */
export const MAX_TCP_LINE_BYTES = 200;

const LATEST_13_DIGIT_MS = 9_999_999_999_999;

/**
 * The FOTA command as the TCP command server writes it, in one write and without a newline:
 * `deviceId,deviceKey,timestamp,FOTA,version,MD5,URL`. The timestamp has 13 digits; the MD5 is
 * lowercase hex, or `null` when unknown. Throws `invalid_input` when a field is empty or holds a comma
 * or a control character (clients split on `,`, mcs.c with `strtok`), or when the line would reach
 * 200 bytes.
 */
export function formatTcpFota(deviceId: string, key: string, command: FotaCommand): string {
  const { timestamp } = command;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > LATEST_13_DIGIT_MS) {
    throw invalid(`a FOTA timestamp must be Unix milliseconds of at most 13 digits, not ${timestamp}`);
  }
  const md5 = command.md5 === '' ? 'null' : command.md5.toLowerCase();
  const fields: [string, string][] = [
    ['deviceId', deviceId],
    ['deviceKey', key],
    ['version', command.version],
    ['MD5', md5],
    ['URL', command.url],
  ];
  for (const [name, value] of fields) {
    if (value === '') throw invalid(`the ${name} of a FOTA command must not be empty`);
    // eslint-disable-next-line no-control-regex
    if (/[,\u0000-\u001f\u007f]/.test(value)) {
      throw invalid(`the ${name} of a FOTA command must hold no comma and no control character`);
    }
  }
  const line = `${deviceId},${key},${String(timestamp).padStart(13, '0')},FOTA,${command.version},${md5},${command.url}`;
  const bytes = Buffer.byteLength(line);
  if (bytes >= MAX_TCP_LINE_BYTES) {
    throw invalid(`the FOTA line is ${bytes} bytes; a TCP command must stay under ${MAX_TCP_LINE_BYTES}`);
  }
  return line;
}
