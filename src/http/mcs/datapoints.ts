import { invalid } from '../../domain/errors.js';
import type { DataPoint } from '../../domain/model.js';

/**
 * Reads `datapoints.csv` bodies: one data point a line, `channelId,timestamp,value`, the timestamp
 * empty for server time, GPS channels with `latitude,longitude,altitude` as three values. Trailing
 * NUL bytes and whitespace are dropped; blank lines are skipped.
 */
export function parseDataPointsCsv(body: string): DataPoint[] {
  const points: DataPoint[] = [];
  for (const rawLine of body.split(/\r?\n/)) {
    // eslint-disable-next-line no-control-regex
    const line = rawLine.replace(/[\s\x00]+$/, '');
    if (line === '') continue;
    const [channelId = '', timestamp = '', ...values] = line.split(',');
    points.push({ channelId, timestamp: readTimestamp(timestamp), values: readValues(values, line) });
  }
  return points;
}

function readValues(values: string[], line: string): Record<string, string> {
  if (values.length === 1) return { value: values[0]! };
  if (values.length === 3) return { latitude: values[0]!, longitude: values[1]!, altitude: values[2]! };
  throw invalid(`"${line.slice(0, 80)}" is not channelId,timestamp,value`);
}

function readTimestamp(text: string): number | undefined {
  if (text === '') return undefined;
  if (!/^\d{1,16}$/.test(text)) throw invalid(`timestamp "${text.slice(0, 20)}" is not Unix milliseconds`);
  return Number(text);
}

/**
 * Reads the JSON form: `{"datapoints":[{"dataChnId":"1","timestamp":1432538716989,"values":{"value":"26"}}]}`.
 * Numbers and booleans in values are kept as their text.
 */
export function parseDataPointsJson(body: string): DataPoint[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw invalid('the body must be JSON like {"datapoints":[{"dataChnId":"1","values":{"value":"26"}}]}');
  }
  const list = (parsed as { datapoints?: unknown } | null)?.datapoints;
  if (!Array.isArray(list)) throw invalid('the body must have a "datapoints" array');
  return list.map((entry: unknown) => {
    const point = entry as { dataChnId?: unknown; timestamp?: unknown; values?: unknown } | null;
    if (typeof point?.dataChnId !== 'string' && typeof point?.dataChnId !== 'number') {
      throw invalid('each data point needs a "dataChnId"');
    }
    if (typeof point.values !== 'object' || point.values === null || Array.isArray(point.values)) {
      throw invalid('each data point needs a "values" object');
    }
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries(point.values)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw invalid(`value "${name}" must be text or a number`);
      }
      values[name] = String(value);
    }
    const timestamp = point.timestamp;
    if (
      timestamp !== undefined &&
      timestamp !== null &&
      (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0)
    ) {
      throw invalid('timestamp must be Unix milliseconds');
    }
    return { channelId: String(point.dataChnId), timestamp: timestamp ?? undefined, values };
  });
}
