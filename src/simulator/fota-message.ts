import type { FotaMessage } from './types.js';

/**
 * Splits like C's `strtok(text, ",")`, which mcs.c uses on every message: empty fields vanish
 * (`a,,b` is two fields), so a server that left a field empty shifts every later field.
 */
export const splitLikeStrtok = (text: string): string[] => text.split(',').filter((field) => field !== '');

/** Trailing NUL padding (mcs.c) and line ends (LinkIt ONE) are not part of a message. */
const trimMessage = (text: string): string => text.replace(/^[\s\0]+|[\s\0]+$/g, '');

/** What one message from the TCP command server is, once the device split it. */
export type TcpMessage =
  | { readonly kind: 'heartbeat'; readonly text: string }
  | { readonly kind: 'fota'; readonly fota: FotaMessage }
  | { readonly kind: 'command'; readonly channel: string; readonly value: string }
  /** Marked FOTA but too few fields to act on: a real client would fail the upgrade. */
  | { readonly kind: 'malformed-fota'; readonly version: string | undefined; readonly text: string }
  | { readonly kind: 'other'; readonly text: string };

const fotaOf = (fields: readonly string[], at: number): FotaMessage | undefined => {
  const [timestamp, , version, md5, url] = fields.slice(at);
  if (timestamp === undefined || version === undefined || md5 === undefined || url === undefined) return undefined;
  return { timestamp, version, md5: md5 === 'null' ? undefined : md5, url };
};

/**
 * One TCP message as mcs.c reads it: `deviceId,deviceKey,timestamp,FOTA,version,MD5,URL` (the
 * first seven fields; anything after is ignored, as strtok is called seven times), a command
 * `deviceId,deviceKey,timestamp,channel,value`, or the echo of a heartbeat.
 */
export function classifyTcpMessage(raw: string): TcpMessage {
  const text = trimMessage(raw);
  const fields = splitLikeStrtok(text);
  if (fields[3] === 'FOTA') {
    const fota = fotaOf(fields, 2);
    return fota ? { kind: 'fota', fota } : { kind: 'malformed-fota', version: fields[4], text };
  }
  if (fields.length >= 2 && fields.length <= 3) return { kind: 'heartbeat', text };
  if (fields.length >= 5) return { kind: 'command', channel: fields[3] as string, value: fields.slice(4).join(',') };
  return { kind: 'other', text };
}

/** What one MQTT message is: a FOTA payload `timestamp,FOTA,version,MD5,URL` or anything else. */
export type MqttMessage =
  | { readonly kind: 'fota'; readonly fota: FotaMessage }
  | { readonly kind: 'malformed-fota'; readonly version: string | undefined; readonly text: string }
  | { readonly kind: 'other'; readonly text: string };

/**
 * Reads an MQTT payload. FOTA is recognised by its second field, whatever the channel of the topic
 * (the server publishes it on `mcs/ID/KEY/FOTA`); a device also sees its own data points, since
 * it subscribes to `mcs/ID/KEY/+`.
 */
export function classifyMqttPayload(payload: Buffer | string): MqttMessage {
  const text = trimMessage(payload.toString());
  const fields = splitLikeStrtok(text);
  if (fields[1] === 'FOTA') {
    const fota = fotaOf(fields, 0);
    return fota ? { kind: 'fota', fota } : { kind: 'malformed-fota', version: fields[2], text };
  }
  return { kind: 'other', text };
}

/**
 * Cuts the byte stream of a TCP command connection into messages. The server writes each message
 * in one write without a delimiter, so one read may hold several (the echo of a heartbeat and a
 * FOTA line back to back), and in theory a message may span two reads. Every message to a device
 * starts with `deviceId,deviceKey,`: a message ends where the next one starts. The last one may
 * still be growing, so it stays here until the next message starts or `flush()` says the line went
 * quiet.
 */
export class TcpMessageReader {
  private readonly prefix: Buffer;
  private pending: Buffer = Buffer.alloc(0);

  constructor(deviceId: string, deviceKey: string) {
    this.prefix = Buffer.from(`${deviceId},${deviceKey},`);
  }

  /** Adds bytes read from the socket; returns the messages they completed. */
  push(chunk: Buffer): TcpMessage[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: TcpMessage[] = [];
    let start = 0;
    // The pending bytes start with a prefix except for stray bytes at the very start: look past it.
    let next = this.pending.indexOf(this.prefix, 1);
    while (next !== -1) {
      const message = this.read(this.pending.subarray(start, next));
      if (message) messages.push(message);
      start = next;
      next = this.pending.indexOf(this.prefix, start + 1);
    }
    this.pending = this.pending.subarray(start);
    return messages;
  }

  /** The message still being read, taken as complete: the server wrote nothing more for a while. */
  flush(): TcpMessage[] {
    const message = this.read(this.pending);
    this.pending = Buffer.alloc(0);
    return message ? [message] : [];
  }

  /** True while bytes of an unfinished message wait for `flush()`. */
  get holding(): boolean {
    return this.pending.length > 0;
  }

  private read(bytes: Buffer): TcpMessage | undefined {
    const text = bytes.toString('utf8');
    return trimMessage(text) === '' ? undefined : classifyTcpMessage(text);
  }
}
