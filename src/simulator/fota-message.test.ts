import { describe, expect, it } from 'vitest';
import {
  classifyMqttPayload,
  classifyTcpMessage,
  splitLikeStrtok,
  TcpMessageReader,
  type TcpMessage,
} from './fota-message.js';
import { heartbeatHabits } from './heartbeats.js';

const ID = 'Dbxx9k01';
const KEY = 'TPJVxxxxxxxxBxBv';
const URL = 'http://127.0.0.1:8080/fw/FAa6B540CMmJ?d=Dbxx9k01';
const MD5 = '6a94d0c3e2e1d0b5a6f1a7b0c9d8e7f6';
const fotaLine = (version = '2.0', md5 = MD5, url = URL) => `${ID},${KEY},1513132150790,FOTA,${version},${md5},${url}`;

describe('splitLikeStrtok', () => {
  it.each([
    ['a,b,c', ['a', 'b', 'c']],
    ['a,,b', ['a', 'b']],
    [',a,b,', ['a', 'b']],
    ['', []],
    [',,,', []],
  ])('%j → %j', (text, fields) => {
    expect(splitLikeStrtok(text)).toEqual(fields);
  });
});

describe('classifyTcpMessage', () => {
  const cases: [name: string, raw: string, expected: TcpMessage][] = [
    [
      'a FOTA line',
      fotaLine(),
      { kind: 'fota', fota: { timestamp: '1513132150790', version: '2.0', md5: MD5, url: URL } },
    ],
    [
      'a FOTA line with MD5 null',
      fotaLine('2.0', 'null'),
      { kind: 'fota', fota: { timestamp: '1513132150790', version: '2.0', md5: undefined, url: URL } },
    ],
    [
      'fields after the seventh are ignored, as mcs.c calls strtok seven times',
      `${fotaLine()},extra`,
      { kind: 'fota', fota: { timestamp: '1513132150790', version: '2.0', md5: MD5, url: URL } },
    ],
    [
      'an empty MD5 shifts the URL away, as with strtok',
      fotaLine('2.0', ''),
      { kind: 'malformed-fota', version: '2.0', text: fotaLine('2.0', '') },
    ],
    ['the echo of a heartbeat', `${ID},${KEY},0`, { kind: 'heartbeat', text: `${ID},${KEY},0` }],
    ['an echo without timestamp (7697 Arduino)', `${ID},${KEY},`, { kind: 'heartbeat', text: `${ID},${KEY},` }],
    [
      'an echo padded with NULs (mcs.c)',
      `${ID},${KEY},0${'\0'.repeat(24)}`,
      { kind: 'heartbeat', text: `${ID},${KEY},0` },
    ],
    ['an echo with CRLFs (LinkIt ONE)', `${ID},${KEY},0\r\n\r\n`, { kind: 'heartbeat', text: `${ID},${KEY},0` }],
    ['a command', `${ID},${KEY},1513132150790,led,1`, { kind: 'command', channel: 'led', value: '1' }],
    ['noise', 'hello', { kind: 'other', text: 'hello' }],
  ];
  it.each(cases)('%s', (_name, raw, expected) => {
    expect(classifyTcpMessage(raw)).toEqual(expected);
  });
});

describe('classifyMqttPayload', () => {
  it.each([
    [
      'a FOTA payload',
      `1513133357160,FOTA,2.0,${MD5},${URL}`,
      { kind: 'fota', fota: { timestamp: '1513133357160', version: '2.0', md5: MD5, url: URL } },
    ],
    [
      'a FOTA payload with a trailing NUL and MD5 null',
      `1513133357160,FOTA,2.0,null,${URL}\0`,
      { kind: 'fota', fota: { timestamp: '1513133357160', version: '2.0', md5: undefined, url: URL } },
    ],
    ['a FOTA payload without URL', '1513133357160,FOTA,2.0,null', { kind: 'malformed-fota', version: '2.0' }],
    ['the device’s own status data point', ',status,fotaing', { kind: 'other', text: ',status,fotaing' }],
  ])('%s', (_name, payload, expected) => {
    expect(classifyMqttPayload(Buffer.from(payload))).toMatchObject(expected);
  });
});

describe('TcpMessageReader', () => {
  const kinds = (messages: TcpMessage[]) => messages.map((message) => message.kind);

  it('splits an echo and a FOTA line read back to back, for every heartbeat habit', () => {
    for (const habit of heartbeatHabits) {
      const reader = new TcpMessageReader(ID, KEY);
      const read = Buffer.concat([habit.bytes(ID, KEY), Buffer.from(fotaLine())]);
      const messages = [...reader.push(read), ...reader.flush()];
      expect(kinds(messages), habit.client).toEqual(['heartbeat', 'fota']);
      expect(messages[1]).toEqual({
        kind: 'fota',
        fota: { timestamp: '1513132150790', version: '2.0', md5: MD5, url: URL },
      });
    }
  });

  it('keeps the last message until the next one starts or the line goes quiet', () => {
    const reader = new TcpMessageReader(ID, KEY);
    expect(reader.push(Buffer.from(`${ID},${KEY},0`))).toEqual([]);
    expect(reader.holding).toBe(true);
    expect(kinds(reader.push(Buffer.from(fotaLine())))).toEqual(['heartbeat']);
    expect(kinds(reader.flush())).toEqual(['fota']);
    expect(reader.holding).toBe(false);
    expect(reader.flush()).toEqual([]);
  });

  it('joins a FOTA line split across reads, even inside the prefix', () => {
    const reader = new TcpMessageReader(ID, KEY);
    const bytes = Buffer.from(`${ID},${KEY},0${fotaLine()}${ID},${KEY},0`);
    const messages: TcpMessage[] = [];
    for (let at = 0; at < bytes.length; at += 7) messages.push(...reader.push(bytes.subarray(at, at + 7)));
    messages.push(...reader.flush());
    expect(kinds(messages)).toEqual(['heartbeat', 'fota', 'heartbeat']);
    expect(messages[1]).toMatchObject({ fota: { url: URL } });
  });

  it('reports stray bytes before the first message', () => {
    const reader = new TcpMessageReader(ID, KEY);
    expect(reader.push(Buffer.from(`junk${fotaLine()}`))).toEqual([{ kind: 'other', text: 'junk' }]);
    expect(kinds(reader.flush())).toEqual(['fota']);
  });

  it('drops reads that are only padding', () => {
    const reader = new TcpMessageReader(ID, KEY);
    expect(reader.push(Buffer.alloc(10))).toEqual([]);
    expect(reader.flush()).toEqual([]);
  });
});
