import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES, parseDataPointPayload } from './payload-parser.js';

const accepted: Array<[string, string | Uint8Array, string | undefined, unknown[]]> = [
  [
    'timestamp, channel and value',
    '1513133357160,temp,26',
    'temp',
    [{ channelId: 'temp', timestamp: 1513133357160, values: { value: '26' } }],
  ],
  ['no timestamp', ',temp,26', 'temp', [{ channelId: 'temp', timestamp: undefined, values: { value: '26' } }]],
  [
    'timestamp 0 means server time',
    '0,temp,26',
    'temp',
    [{ channelId: 'temp', timestamp: undefined, values: { value: '26' } }],
  ],
  [
    'neither timestamp nor channel',
    ',,fotaing',
    'status',
    [{ channelId: 'status', timestamp: undefined, values: { value: 'fotaing' } }],
  ],
  [
    'mcs.c: trailing NUL',
    ',,fotaing\0',
    'status',
    [{ channelId: 'status', timestamp: undefined, values: { value: 'fotaing' } }],
  ],
  [
    'NUL padding as raw bytes',
    Buffer.concat([Buffer.from(',led,1'), Buffer.alloc(8)]),
    'led',
    [{ channelId: 'led', timestamp: undefined, values: { value: '1' } }],
  ],
  [
    'CRLF ending',
    '1513133357160,temp,26\r\n',
    'temp',
    [{ channelId: 'temp', timestamp: 1513133357160, values: { value: '26' } }],
  ],
  ['spaces around fields', ' 12 , temp , 26 ', 'temp', [{ channelId: 'temp', timestamp: 12, values: { value: '26' } }]],
  [
    'text value with spaces inside',
    ',msg,hello world',
    'msg',
    [{ channelId: 'msg', timestamp: undefined, values: { value: 'hello world' } }],
  ],
  ['UTF-8 value', ',msg,溫度', 'msg', [{ channelId: 'msg', timestamp: undefined, values: { value: '溫度' } }]],
  [
    'GPS',
    '1513133357160,gps,25.0478,121.5319,10',
    'gps',
    [
      {
        channelId: 'gps',
        timestamp: 1513133357160,
        values: { latitude: '25.0478', longitude: '121.5319', altitude: '10' },
      },
    ],
  ],
  [
    'several lines on the device topic, CRLF, a blank line, NUL at the end',
    '1513133357160,temp,26\r\n\r\n,humidity,40\r\n,gps,1,2,3\0',
    undefined,
    [
      { channelId: 'temp', timestamp: 1513133357160, values: { value: '26' } },
      { channelId: 'humidity', timestamp: undefined, values: { value: '40' } },
      { channelId: 'gps', timestamp: undefined, values: { latitude: '1', longitude: '2', altitude: '3' } },
    ],
  ],
  [
    'several lines on a channel topic',
    ',temp,26\n,,27',
    'temp',
    [
      { channelId: 'temp', timestamp: undefined, values: { value: '26' } },
      { channelId: 'temp', timestamp: undefined, values: { value: '27' } },
    ],
  ],
];

const refused: Array<[string, string | Uint8Array, string | undefined, RegExp]> = [
  ['empty', '', 'temp', /empty payload/],
  ['only NULs and whitespace', '\0\0 \r\n\0', 'temp', /empty payload/],
  ['junk without commas', 'hello', 'temp', /fields/],
  ['two fields', '1,2', 'temp', /fields/],
  ['four fields', ',temp,1,2', 'temp', /fields/],
  ['six fields', ',gps,1,2,3,4', 'gps', /fields/],
  ['timestamp not a number', 'abc,temp,26', 'temp', /timestamp/],
  ['negative timestamp', '-5,temp,26', 'temp', /timestamp/],
  ['fractional timestamp', '1.5,temp,26', 'temp', /timestamp/],
  ['timestamp of 14 digits', '15131333571600,temp,26', 'temp', /timestamp/],
  ['channel differs from the topic', ',humidity,26', 'temp', /differs/],
  ['no channel on the device topic', ',,26', undefined, /must be named/],
  ['empty value', ',temp,', 'temp', /empty value/],
  ['empty GPS altitude', ',gps,1,2,', 'gps', /empty value/],
  ['NUL inside', ',temp,2\u00006', 'temp', /NUL/],
  ['invalid UTF-8', Buffer.from([0x2c, 0x2c, 0xff, 0xfe]), 'temp', /UTF-8/],
  ['too large', `,temp,${'9'.repeat(MAX_PAYLOAD_BYTES)}`, 'temp', /more than/],
  ['a bad line among good ones', ',temp,26\n,humidity\n', undefined, /line 2/],
];

describe('parseDataPointPayload', () => {
  it.each(accepted)('accepts %s', (_name, payload, channel, points) => {
    expect(parseDataPointPayload(payload, channel)).toEqual({ ok: true, points });
  });

  it.each(refused)('refuses %s', (_name, payload, channel, reason) => {
    const result = parseDataPointPayload(payload, channel);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('never throws on arbitrary bytes, and always says why it refuses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.option(fc.string(), { nil: undefined }), (bytes, channel) => {
        const result = parseDataPointPayload(bytes, channel);
        if (!result.ok) expect(result.reason).not.toBe('');
      }),
      { numRuns: 2000 },
    );
  });

  /** Text made of the characters that matter to the parser, so that many inputs parse. */
  const payloadText = fc
    .array(fc.constantFrom(',', ',', '\n', '\r', ' ', '\0', '0', '7', 'a', 'Z', '.', '-', '_', 'é'), { maxLength: 60 })
    .map((characters) => characters.join(''));

  it('takes channel ids and values literally from the payload (or the channel from the topic)', () => {
    fc.assert(
      fc.property(payloadText, fc.option(fc.constantFrom('a', 'temp', 'Z7'), { nil: undefined }), (text, channel) => {
        const result = parseDataPointPayload(text, channel);
        if (!result.ok) return;
        expect(result.points.length).toBeGreaterThan(0);
        for (const point of result.points) {
          expect(point.channelId === channel || text.includes(point.channelId)).toBe(true);
          expect(point.channelId).not.toBe('');
          for (const value of Object.values(point.values)) {
            expect(value).not.toBe('');
            expect(text.includes(value)).toBe(true);
          }
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('gives back exactly the data points a well-formed multi-line payload was made of', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,12}$/);
    const point = fc.record({
      timestamp: fc.option(fc.integer({ min: 1, max: 9_999_999_999_999 }), { nil: undefined }),
      channelId: token,
      values: fc.oneof(fc.record({ value: token }), fc.record({ latitude: token, longitude: token, altitude: token })),
    });
    fc.assert(
      fc.property(
        fc.array(point, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        (points, eol, nul) => {
          const lines = points.map((p) => [p.timestamp ?? '', p.channelId, ...Object.values(p.values)].join(','));
          const text = lines.join(eol) + (nul ? '\0' : '');
          expect(parseDataPointPayload(Buffer.from(text), undefined)).toEqual({ ok: true, points });
        },
      ),
    );
  });
});
