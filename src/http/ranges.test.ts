import { describe, expect, it } from 'vitest';
import { decideRange, ifRangeAllows, noneMatchHits, type RangeDecision } from './ranges.js';

const full: RangeDecision = { kind: 'full' };
const unsatisfiable: RangeDecision = { kind: 'unsatisfiable' };
const partial = (start: number, end: number): RangeDecision => ({ kind: 'partial', range: { start, end } });

describe('decideRange', () => {
  it.each<[string | undefined, number, RangeDecision]>([
    [undefined, 100, full],
    ['bytes=0-0', 100, partial(0, 0)],
    ['bytes=0-99', 100, partial(0, 99)],
    ['bytes=0-', 100, partial(0, 99)],
    ['bytes=5-', 100, partial(5, 99)],
    ['bytes=5-9', 100, partial(5, 9)],
    ['bytes=99-', 100, partial(99, 99)],
    ['bytes=99-99', 100, partial(99, 99)],
    ['bytes=-1', 100, partial(99, 99)],
    ['bytes=-10', 100, partial(90, 99)],
    ['bytes=-100', 100, partial(0, 99)],
    ['bytes=-500', 100, partial(0, 99)],
    ['bytes=50-500', 100, partial(50, 99)],
    ['bytes=0-99999999999999999999999', 100, partial(0, 99)],
    ['Bytes=1-2', 100, partial(1, 2)],
    [' bytes = 1 - 2 ', 100, partial(1, 2)],
    ['bytes=0-0', 1, partial(0, 0)],
    ['bytes=-1', 1, partial(0, 0)],
    // past the end, or nothing to send
    ['bytes=100-', 100, unsatisfiable],
    ['bytes=100-200', 100, unsatisfiable],
    ['bytes=1000-', 100, unsatisfiable],
    ['bytes=99999999999999999999-', 100, unsatisfiable],
    ['bytes=-0', 100, unsatisfiable],
    ['bytes=0-', 0, unsatisfiable],
    ['bytes=-5', 0, unsatisfiable],
    // several ranges: the whole body, as RFC 9110 allows
    ['bytes=0-1,3-4', 100, full],
    ['bytes=0-1, 5-', 100, full],
    ['bytes=-1,-2', 100, full],
    // not a byte range we read: ignored, the whole body
    ['', 100, full],
    ['bytes=', 100, full],
    ['bytes=-', 100, full],
    ['bytes=5-3', 100, full],
    ['bytes=a-b', 100, full],
    ['bytes=1.5-2', 100, full],
    ['bytes=+1-2', 100, full],
    ['bytes 0-1', 100, full],
    ['items=0-1', 100, full],
    ['0-1', 100, full],
    ['bytes=0-1;x', 100, full],
  ])('%j on %i bytes', (header, size, expected) => {
    expect(decideRange(header, size)).toEqual(expected);
  });
});

describe('noneMatchHits', () => {
  const etag = '"abc123"';

  it.each<[string | undefined, string, boolean]>([
    [undefined, etag, false],
    ['"abc123"', etag, true],
    ['"other"', etag, false],
    ['*', etag, true],
    [' * ', etag, true],
    ['"other", "abc123"', etag, true],
    ['"other","abc123"', etag, true],
    ['"one", "two"', etag, false],
    ['W/"abc123"', etag, true],
    ['"other", W/"abc123"', etag, true],
    ['"abc123"', 'W/"abc123"', true],
    ['W/"abc123"', 'W/"abc123"', true],
    ['abc123', etag, false],
    ['"ABC123"', etag, false],
    ['', etag, false],
  ])('If-None-Match %j against %s: %s', (header, tag, expected) => {
    expect(noneMatchHits(header, tag)).toBe(expected);
  });
});

describe('ifRangeAllows', () => {
  const etag = '"abc123"';
  const lastModified = new Date('2024-03-01T12:00:00.000Z');

  it.each<[string | undefined, string, boolean]>([
    [undefined, etag, true],
    ['"abc123"', etag, true],
    [' "abc123" ', etag, true],
    ['"other"', etag, false],
    ['W/"abc123"', etag, false],
    ['W/"abc123"', 'W/"abc123"', false],
    ['"abc123"', 'W/"abc123"', false],
    ['Fri, 01 Mar 2024 12:00:00 GMT', etag, true],
    ['Fri, 01 Mar 2024 12:00:01 GMT', etag, false],
    ['Fri, 01 Mar 2024 11:59:59 GMT', etag, false],
    ['Thu, 29 Feb 2024 12:00:00 GMT', etag, false],
    ['not a date', etag, false],
    ['', etag, false],
  ])('If-Range %j with ETag %s: %s', (header, tag, expected) => {
    expect(ifRangeAllows(header, tag, lastModified)).toBe(expected);
  });

  it('compares dates to the second, as HTTP dates carry no milliseconds', () => {
    const withMillis = new Date('2024-03-01T12:00:00.750Z');
    expect(ifRangeAllows('Fri, 01 Mar 2024 12:00:00 GMT', etag, withMillis)).toBe(true);
  });
});
