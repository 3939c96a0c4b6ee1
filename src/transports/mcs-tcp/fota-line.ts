import { invalid } from '../../domain/errors.js';
import { fotaMessage, requireFotaField } from '../mcs/fota-message.js';
import type { FotaCommand } from '../../domain/model.js';

/** The fields of a FOTA command that the MCS message carries. */
type McsFota = Pick<FotaCommand, 'timestamp' | 'version' | 'md5' | 'url'>;

/** mcs.c reads each message with one `recv` into a 200-byte buffer: a line must stay below it. */
export const MAX_TCP_LINE_BYTES = 200;

/**
 * The FOTA command as the TCP command server writes it, in one write and without a newline:
 * `deviceId,deviceKey,` and the FOTA message (`timestamp,FOTA,version,MD5,URL`). Throws
 * `invalid_input` when a field is empty or holds a comma or a control character, or when the line
 * would reach 200 bytes.
 */
export function formatTcpFota(deviceId: string, key: string, command: McsFota): string {
  requireFotaField('deviceId', deviceId);
  requireFotaField('deviceKey', key);
  const line = `${deviceId},${key},${fotaMessage(command)}`;
  const bytes = Buffer.byteLength(line);
  if (bytes >= MAX_TCP_LINE_BYTES) {
    throw invalid(`the FOTA line is ${bytes} bytes; a TCP command must stay under ${MAX_TCP_LINE_BYTES}`);
  }
  return line;
}
