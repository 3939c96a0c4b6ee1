import type { DataPoint } from '../../domain/model.js';

/**
 * Data points as MCS devices publish them over MQTT. Pure: bytes in, data points or a reason out.
 *
 * - On `mcs/:id/:key/:dataChnId`: `timestamp,dataChnId,value`, where the timestamp may be empty
 *   or `0` (server time) and the channel may be empty (the topic's channel): `,dataChnId,value`,
 *   `,,value`. A channel written in the payload must be the topic's.
 * - On `mcs/:id/:key`: one such line per data point, each naming its channel.
 * - GPS channels carry three values: `timestamp,dataChnId,latitude,longitude,altitude`.
 *
 * mcs.c publishes with a trailing NUL byte, other clients end with CRLF: trailing NULs and
 * whitespace are dropped, lines split on LF or CRLF, blank lines skipped, spaces around fields
 * trimmed. Values never hold commas (every MCS client splits on them). Limits (channel id shape,
 * five points per message) are the domain's to enforce.
 */

export type PayloadParseResult =
  { readonly ok: true; readonly points: DataPoint[] } | { readonly ok: false; readonly reason: string };

/** Far above five GPS points; refuses junk before splitting it. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

const TIMESTAMP = /^\d{1,13}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const refuse = (reason: string): PayloadParseResult => ({ ok: false, reason });

/**
 * Parses a data point payload. `topicChannelId` is the topic's fourth level, undefined for the
 * bare device topic, where each line must name its channel.
 */
export function parseDataPointPayload(
  payload: Uint8Array | string,
  topicChannelId: string | undefined,
): PayloadParseResult {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > MAX_PAYLOAD_BYTES) return refuse(`payload of ${size} bytes, more than ${MAX_PAYLOAD_BYTES}`);
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : utf8.decode(payload);
  } catch {
    return refuse('payload is not UTF-8 text');
  }
  text = withoutTrailingNulsAndSpace(text);
  if (text === '') return refuse('empty payload');
  if (text.includes('\0')) return refuse('NUL byte inside the payload');

  const points: DataPoint[] = [];
  const lines = text.split('\n');
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '') continue;
    const parsed = parseLine(line, topicChannelId);
    if (typeof parsed === 'string') return refuse(lines.length > 1 ? `line ${index + 1}: ${parsed}` : parsed);
    points.push(parsed);
  }
  if (points.length === 0) return refuse('no data point in the payload');
  return { ok: true, points };
}

/** The text without its trailing NULs and whitespace, in any mix (a loop: no regex backtracking). */
function withoutTrailingNulsAndSpace(text: string): string {
  let end = text.length;
  while (end > 0 && /[\0\s]/.test(text[end - 1]!)) end--;
  return text.slice(0, end);
}

/** One `timestamp,dataChnId,value…` line: a data point, or why it is refused. */
function parseLine(line: string, topicChannelId: string | undefined): DataPoint | string {
  const fields = line.split(',').map((field) => field.trim());
  if (fields.length !== 3 && fields.length !== 5) {
    return `expected timestamp,dataChnId,value or timestamp,dataChnId,latitude,longitude,altitude, got ${fields.length} fields`;
  }
  const [timestampField = '', channelField = '', ...values] = fields;

  if (timestampField !== '' && !TIMESTAMP.test(timestampField)) {
    return 'timestamp must be empty or Unix milliseconds';
  }
  const timestamp = timestampField === '' || Number(timestampField) === 0 ? undefined : Number(timestampField);

  let channelId = channelField;
  if (topicChannelId === undefined) {
    if (channelId === '') return 'the data channel must be named on the device topic';
  } else if (channelId === '') {
    channelId = topicChannelId;
  } else if (channelId !== topicChannelId) {
    return `data channel ${channelId} differs from the topic's ${topicChannelId}`;
  }

  if (values.some((value) => value === '')) return 'empty value';
  if (values.length === 1) return { channelId, timestamp, values: { value: values[0]! } };
  const [latitude = '', longitude = '', altitude = ''] = values;
  return { channelId, timestamp, values: { latitude, longitude, altitude } };
}
