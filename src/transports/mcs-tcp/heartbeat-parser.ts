/** A heartbeat of the MCS TCP protocol: `deviceId,deviceKey,timestamp`. */
export interface Heartbeat {
  /** `D` and 7 letters or digits. */
  readonly deviceId: string;
  /** 16 letters or digits. */
  readonly key: string;
  /**
   * The digits as sent: `''` (7697 Arduino), `'0'`, or up to 13 digits. A heartbeat whose timestamp
   * reaches the end of a chunk is yielded at once with the digits received so far (the 7697 sends
   * `ID,KEY,` and then nothing for a minute); digits that continue it in the next chunk are absorbed.
   */
  readonly timestamp: string;
}

export interface FeedResult {
  readonly heartbeats: Heartbeat[];
  /** Bytes of this feed that belong to no heartbeat and are no separator (NUL, CR, LF). */
  readonly junk: number;
}

const D = 0x44;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;
const DEVICE_ID_LENGTH = 8;
const KEY_LENGTH = 16;
const MAX_TIMESTAMP_DIGITS = 13;
/** Offsets of the two commas and of the timestamp inside a heartbeat. */
const FIRST_COMMA = DEVICE_ID_LENGTH;
const KEY_START = FIRST_COMMA + 1;
const SECOND_COMMA = KEY_START + KEY_LENGTH;
const TIMESTAMP_START = SECOND_COMMA + 1;

const isDigit = (byte: number): boolean => byte >= ZERO && byte <= NINE;
const isAlphanumeric = (byte: number): boolean =>
  isDigit(byte) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
/** mcs.c pads with NUL, the LinkIt ONE ends with CRLF CRLF. */
const isSeparator = (byte: number): boolean => byte === 0x00 || byte === 0x0d || byte === 0x0a;

type Match =
  | { readonly kind: 'none' }
  /** The bytes up to the end of the data are the start of a heartbeat, before its timestamp. */
  | { readonly kind: 'partial' }
  /** `open`: the timestamp reached the end of the data and may go on in the next chunk. */
  | { readonly kind: 'complete'; readonly end: number; readonly open: boolean };

const NONE: Match = { kind: 'none' };
const PARTIAL: Match = { kind: 'partial' };

/** Whether a heartbeat starts at `start`; `data[start]` is `D`. */
function matchAt(data: Buffer, start: number): Match {
  for (let offset = 1; offset < TIMESTAMP_START; offset++) {
    const index = start + offset;
    if (index >= data.length) return PARTIAL;
    const byte = data[index]!;
    const fits = offset === FIRST_COMMA || offset === SECOND_COMMA ? byte === COMMA : isAlphanumeric(byte);
    if (!fits) return NONE;
  }
  const timestampStart = start + TIMESTAMP_START;
  if (timestampStart >= data.length) return { kind: 'complete', end: timestampStart, open: true };
  const first = data[timestampStart]!;
  if (!isDigit(first)) return { kind: 'complete', end: timestampStart, open: false };
  // `0` is a whole timestamp: in `ID,KEY,0ID,KEY,0` the next message starts right after it.
  if (first === ZERO) return { kind: 'complete', end: timestampStart + 1, open: false };
  let end = timestampStart + 1;
  while (end < data.length && end - timestampStart < MAX_TIMESTAMP_DIGITS && isDigit(data[end]!)) end++;
  const open = end === data.length && end - timestampStart < MAX_TIMESTAMP_DIGITS;
  return { kind: 'complete', end, open };
}

/**
 * Finds heartbeats in the bytes of one TCP connection, fed chunk by chunk as they arrive. Real
 * clients put no delimiter between messages and pad or end them with NUL, CR and LF, so messages
 * are recognised by their shape. Keeps at most one unfinished heartbeat (under 40 bytes) between
 * chunks. Never throws.
 */
export class HeartbeatParser {
  /** The start of a heartbeat cut by the end of the previous chunk. */
  private pending: Buffer | undefined;
  /** Timestamp digits of the last heartbeat so far, while it may go on in the next chunk; else -1. */
  private openTimestampDigits = -1;
  private unmatched = 0;

  /** Bytes received since the end of the last heartbeat (all of them before the first one). */
  get bytesSinceHeartbeat(): number {
    return this.unmatched;
  }

  feed(chunk: Buffer): FeedResult {
    const heartbeats: Heartbeat[] = [];
    let junk = 0;
    let start = this.absorbTimestampDigits(chunk);
    this.unmatched += chunk.length - start;
    let data = chunk;
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk.subarray(start)]);
      start = 0;
      this.pending = undefined;
    }
    let index = start;
    while (index < data.length) {
      const byte = data[index]!;
      if (byte !== D) {
        if (!isSeparator(byte)) junk++;
        index++;
        continue;
      }
      const match = matchAt(data, index);
      if (match.kind === 'none') {
        junk++;
        index++;
        continue;
      }
      if (match.kind === 'partial') {
        // Copied so that a large chunk is not kept alive by a small slice of it.
        this.pending = Buffer.from(data.subarray(index));
        break;
      }
      heartbeats.push({
        deviceId: data.toString('latin1', index, index + DEVICE_ID_LENGTH),
        key: data.toString('latin1', index + KEY_START, index + SECOND_COMMA),
        timestamp: data.toString('latin1', index + TIMESTAMP_START, match.end),
      });
      this.unmatched = data.length - match.end;
      this.openTimestampDigits = match.open ? match.end - index - TIMESTAMP_START : -1;
      index = match.end;
    }
    return { heartbeats, junk };
  }

  /** Skips the digits that continue the timestamp of a heartbeat yielded at the end of the last chunk. */
  private absorbTimestampDigits(chunk: Buffer): number {
    let index = 0;
    while (this.openTimestampDigits >= 0 && index < chunk.length) {
      const byte = chunk[index]!;
      if (!isDigit(byte)) {
        this.openTimestampDigits = -1;
        break;
      }
      index++;
      const zero = this.openTimestampDigits === 0 && byte === ZERO;
      this.openTimestampDigits++;
      if (zero || this.openTimestampDigits >= MAX_TIMESTAMP_DIGITS) this.openTimestampDigits = -1;
    }
    return index;
  }
}
