import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeartbeatParser, type Heartbeat } from './heartbeat-parser.js';

const ID = 'Dbxxxx9k';
const KEY = 'TPJVxxxxxxxxBxBv';
const OTHER_ID = 'DZ0000z9';
const OTHER_KEY = '0123456789abcDEF';
const hb = (timestamp: string, deviceId = ID, key = KEY): Heartbeat => ({ deviceId, key, timestamp });
const nulPadded = (text: string): string => text.padEnd(50, '\0');

interface Parsed {
  heartbeats: Heartbeat[];
  junk: number;
  bytesSinceHeartbeat: number;
}

/** Feeds `input` in the given chunks (cut points are byte offsets) and sums up what came out. */
function parse(input: Buffer | string, cuts: readonly number[] = []): Parsed {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const parser = new HeartbeatParser();
  const heartbeats: Heartbeat[] = [];
  let junk = 0;
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    const result = parser.feed(bytes.subarray(start, end));
    heartbeats.push(...result.heartbeats);
    junk += result.junk;
    start = end;
  }
  return { heartbeats, junk, bytesSinceHeartbeat: parser.bytesSinceHeartbeat };
}

const byteByByte = (length: number): number[] => Array.from({ length }, (_, index) => index + 1).slice(0, -1);
const identities = (heartbeats: readonly Heartbeat[]): string[] => heartbeats.map((h) => `${h.deviceId},${h.key}`);

/** [what, bytes, heartbeats, junk bytes] */
const forms: [string, string, Heartbeat[], number][] = [
  ['Python tutorial and mcsjs', `${ID},${KEY},0`, [hb('0')], 0],
  ['mcs.c, NUL-padded to 50 bytes', nulPadded(`${ID},${KEY},0`), [hb('0')], 0],
  ['7697 Arduino, no timestamp', `${ID},${KEY},`, [hb('')], 0],
  ['LinkIt ONE, CRLF CRLF', `${ID},${KEY},0\r\n\r\n`, [hb('0')], 0],
  ['a 13-digit timestamp', `${ID},${KEY},1513132150790`, [hb('1513132150790')], 0],
  ['a 10-digit timestamp', `${ID},${KEY},1513132150\n`, [hb('1513132150')], 0],
  ['two without delimiter', `${ID},${KEY},0${ID},${KEY},0`, [hb('0'), hb('0')], 0],
  ['three Arduino ones without delimiter', `${ID},${KEY},`.repeat(3), [hb(''), hb(''), hb('')], 0],
  [
    'a 13-digit timestamp then the next message',
    `${ID},${KEY},1513132150790${ID},${KEY},0`,
    [hb('1513132150790'), hb('0')],
    0,
  ],
  ['two mcs.c messages', nulPadded(`${ID},${KEY},0`).repeat(2), [hb('0'), hb('0')], 0],
  ['two LinkIt ONE messages', `${ID},${KEY},0\r\n\r\n`.repeat(2), [hb('0'), hb('0')], 0],
  [
    'every form in a row',
    `${ID},${KEY},0${nulPadded(`${ID},${KEY},0`)}${ID},${KEY},${ID},${KEY},0\r\n\r\n`,
    [hb('0'), hb('0'), hb(''), hb('0')],
    0,
  ],
  ['another device', `${OTHER_ID},${OTHER_KEY},0`, [hb('0', OTHER_ID, OTHER_KEY)], 0],
  ['junk before and after', `xx${ID},${KEY},0yy`, [hb('0')], 4],
  ['a 14th digit is junk', `${ID},${KEY},15131321507901`, [hb('1513132150790')], 1],
  ['a digit after the timestamp 0 is junk', `${ID},${KEY},01`, [hb('0')], 1],
  ['a partial message then a whole one', `${ID},${KEY}\n${ID},${KEY},0`, [hb('0')], 25],
  ['plain text', 'hello world', [], 11],
  ['separators only', '\0\0\r\n\r\n\0', [], 0],
  ['a lowercase d', `d${ID.slice(1)},${KEY},0`, [], 27],
  ['a 7-character device id', `${ID.slice(0, 7)},${KEY},0`, [], 26],
  ['a 15-character key', `${ID},${KEY.slice(1)},0`, [], 26],
  ['a key with a dash', `${ID},${KEY.slice(0, 15)}-,0`, [], 27],
  ['spaces after commas', `${ID}, ${KEY}, 0`, [], 29],
  ['no second comma', `${ID},${KEY}0\n`, [], 26],
];

describe('HeartbeatParser: the heartbeats of real clients', () => {
  it.each(forms)('%s', (_what, input, heartbeats, junk) => {
    const parsed = parse(input);
    expect(parsed.heartbeats).toEqual(heartbeats);
    expect(parsed.junk).toBe(junk);
  });

  it.each(forms)('%s, fed byte by byte, finds the same devices and junk', (_what, input, heartbeats, junk) => {
    const parsed = parse(input, byteByByte(input.length));
    expect(identities(parsed.heartbeats)).toEqual(identities(heartbeats));
    expect(parsed.junk).toBe(junk);
  });

  it.each(forms)('%s, cut in two anywhere, finds the same devices and junk', (_what, input, heartbeats, junk) => {
    for (let cut = 0; cut <= input.length; cut++) {
      const parsed = parse(input, [cut]);
      expect(identities(parsed.heartbeats)).toEqual(identities(heartbeats));
      expect(parsed.junk).toBe(junk);
    }
  });

  it('keeps the whole timestamp when the cut is not inside it', () => {
    const input = `${ID},${KEY},1513132150790${ID},${KEY},0`;
    expect(parse(input, [10, 20, 45]).heartbeats).toEqual([hb('1513132150790'), hb('0')]);
  });

  it('yields a heartbeat cut after its second comma at once, and absorbs the digits that follow', () => {
    const parser = new HeartbeatParser();
    expect(parser.feed(Buffer.from(`${ID},${KEY},`)).heartbeats).toEqual([hb('')]);
    expect(parser.feed(Buffer.from('0'))).toEqual({ heartbeats: [], junk: 0 });
    expect(parser.feed(Buffer.from(`${ID},${KEY},151313`)).heartbeats).toEqual([hb('151313')]);
    expect(parser.feed(Buffer.from('2150790'))).toEqual({ heartbeats: [], junk: 0 });
    // the 13 digits are complete: the next digit is junk
    expect(parser.feed(Buffer.from('1'))).toEqual({ heartbeats: [], junk: 1 });
  });

  it('counts the bytes received since the last heartbeat', () => {
    const parser = new HeartbeatParser();
    parser.feed(Buffer.from('x'.repeat(600)));
    expect(parser.bytesSinceHeartbeat).toBe(600);
    parser.feed(Buffer.from(`${ID},${KEY}`));
    expect(parser.bytesSinceHeartbeat).toBe(625);
    parser.feed(Buffer.from(',0\0\0\0'));
    expect(parser.bytesSinceHeartbeat).toBe(3);
    parser.feed(Buffer.alloc(1100));
    expect(parser.bytesSinceHeartbeat).toBe(1103);
  });

  it('keeps at most the start of one heartbeat between chunks', () => {
    const parser = new HeartbeatParser();
    const result = parser.feed(Buffer.from(`${'D'.repeat(100_000)}${ID},${KEY}`));
    expect(result).toEqual({ heartbeats: [], junk: 100_000 });
    expect(parser.feed(Buffer.from(',0')).heartbeats).toEqual([hb('0')]);
  });
});

const alphanumeric = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const alnum = (length: number) =>
  fc.string({ unit: fc.constantFrom(...alphanumeric), minLength: length, maxLength: length });
const deviceIdArb = alnum(7).map((rest) => `D${rest}`);
const keyArb = alnum(16);
const timestampArb = fc.oneof(
  fc.constant(''),
  fc.constant('0'),
  fc.bigInt({ min: 1n, max: 9_999_999_999_999n }).map(String),
);
const heartbeatArb = fc.record({ deviceId: deviceIdArb, key: keyArb, timestamp: timestampArb });
const heartbeatText = (h: Heartbeat): string => `${h.deviceId},${h.key},${h.timestamp}`;

/** Bytes that look like the protocol: heartbeats, their pieces, separators, digits and noise. */
const streamArb = fc
  .array(
    fc.oneof(
      heartbeatArb.map(heartbeatText),
      heartbeatArb.map((h) => heartbeatText(h).slice(0, 20)),
      fc.constantFrom('\0', '\r\n', ',', 'D', '0', '1234567890123456', ID, KEY),
      alnum(5),
      fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    ),
    { maxLength: 30 },
  )
  .map((parts) => Buffer.from(parts.join(''), 'latin1'));

/** Cut points inside a buffer of `length` bytes, sorted. */
const cutsFor = (cutSeeds: readonly number[], length: number): number[] =>
  [...new Set(cutSeeds.map((seed) => seed % (length + 1)))].sort((a, b) => a - b);

describe('HeartbeatParser: properties', () => {
  it('never throws on arbitrary bytes and yields only heartbeats literally present in them', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }).map(Buffer.from), streamArb),
        fc.array(fc.nat()),
        (bytes, seeds) => {
          const { heartbeats } = parse(bytes, cutsFor(seeds, bytes.length));
          const text = bytes.toString('latin1');
          for (const heartbeat of heartbeats) {
            expect(heartbeat.deviceId).toMatch(/^D[A-Za-z0-9]{7}$/);
            expect(heartbeat.key).toMatch(/^[A-Za-z0-9]{16}$/);
            expect(heartbeat.timestamp).toMatch(/^(|0|[1-9][0-9]{0,12})$/);
            expect(text).toContain(heartbeatText(heartbeat));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('finds the same devices, junk and unmatched bytes however the stream is cut', () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.nat()), (bytes, seeds) => {
        const whole = parse(bytes);
        const cut = parse(bytes, cutsFor(seeds, bytes.length));
        expect(identities(cut.heartbeats)).toEqual(identities(whole.heartbeats));
        expect(cut.junk).toBe(whole.junk);
        expect(cut.bytesSinceHeartbeat).toBe(whole.bytesSinceHeartbeat);
      }),
      { numRuns: 500 },
    );
  });

  it('finds a valid heartbeat after arbitrary bytes and a separator, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('\0', '\r', '\n'),
        heartbeatArb,
        fc.uint8Array({ maxLength: 60 }),
        fc.array(fc.nat()),
        (before, separator, heartbeat, after, seeds) => {
          const bytes = Buffer.concat([
            Buffer.from(before),
            Buffer.from(separator + heartbeatText(heartbeat), 'latin1'),
            Buffer.from(after),
          ]);
          const { heartbeats } = parse(bytes, cutsFor(seeds, bytes.length));
          expect(identities(heartbeats)).toContain(`${heartbeat.deviceId},${heartbeat.key}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('finds every heartbeat of a run of them with no delimiter, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(heartbeatArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat()), (sent, seeds) => {
        const bytes = Buffer.from(sent.map(heartbeatText).join(''), 'latin1');
        const whole = parse(bytes);
        expect(whole.heartbeats).toEqual(sent);
        expect(whole.junk).toBe(0);
        expect(identities(parse(bytes, cutsFor(seeds, bytes.length)).heartbeats)).toEqual(identities(sent));
      }),
      { numRuns: 500 },
    );
  });
});
