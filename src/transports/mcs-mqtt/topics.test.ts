import { describe, expect, it } from 'vitest';
import {
  deviceOfFilter,
  filterMatches,
  formatFotaPayload,
  fotaTopic,
  isUnder,
  parsePublishTopic,
  redactTopic,
} from './topics.js';

const device = { deviceId: 'Dbxxxx9k', deviceKey: 'TPJVxxxxxxxxBxBv' };

describe('deviceOfFilter', () => {
  it.each([
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/+', device],
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/#', device],
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/led', device],
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv', device],
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/a/+/#', device],
    ['mcs/+/TPJVxxxxxxxxBxBv/+', undefined],
    ['mcs/Dbxxxx9k/+/+', undefined],
    ['mcs/Dbxxxx9k/#', undefined],
    ['mcs/#', undefined],
    ['#', undefined],
    ['+/Dbxxxx9k/TPJVxxxxxxxxBxBv/+', undefined],
    ['other/Dbxxxx9k/TPJVxxxxxxxxBxBv/+', undefined],
    ['mcs//TPJVxxxxxxxxBxBv/+', undefined],
    ['mcs/Dbxxxx9k', undefined],
    ['$SYS/#', undefined],
  ])('%s → %o', (filter, expected) => {
    expect(deviceOfFilter(filter)).toEqual(expected);
  });
});

describe('parsePublishTopic', () => {
  it.each([
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/temp', { ...device, channelId: 'temp' }],
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv', { ...device, channelId: undefined }],
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/', undefined],
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/a/b', undefined],
    ['mcs/Dbxxxx9k', undefined],
    ['mcs//TPJVxxxxxxxxBxBv/temp', undefined],
    ['x/Dbxxxx9k/TPJVxxxxxxxxBxBv/temp', undefined],
  ])('%s → %o', (topic, expected) => {
    expect(parsePublishTopic(topic)).toEqual(expected);
  });
});

describe('filterMatches', () => {
  it.each([
    ['mcs/D/K/+', 'mcs/D/K/FOTA', true],
    ['mcs/D/K/#', 'mcs/D/K/FOTA', true],
    ['mcs/D/K/#', 'mcs/D/K', true],
    ['mcs/D/K/FOTA', 'mcs/D/K/FOTA', true],
    ['mcs/D/K/led', 'mcs/D/K/FOTA', false],
    ['mcs/D/K/+', 'mcs/D/K', false],
    ['mcs/D/K/+', 'mcs/D/K/a/b', false],
    ['mcs/D/K', 'mcs/D/K/FOTA', false],
    ['#', 'anything/at/all', true],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(filterMatches(filter, topic)).toBe(expected);
  });
});

it('knows what lies under a device prefix', () => {
  expect(isUnder('mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/FOTA', device)).toBe(true);
  expect(isUnder('mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv', device)).toBe(true);
  expect(isUnder('mcs/Dbxxxx9k/TPJVxxxxxxxxBxBvX/FOTA', device)).toBe(false);
  expect(isUnder('mcs/Other123/TPJVxxxxxxxxBxBv/FOTA', device)).toBe(false);
});

describe('redactTopic', () => {
  it.each([
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/+', 'mcs/Dbxxxx9k/***/+'],
    ['mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv', 'mcs/Dbxxxx9k/***'],
    ['/mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/+', '/mcs/Dbxxxx9k/***/+'],
    ['$share/g/mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/+', '$share/g/mcs/Dbxxxx9k/***/+'],
    ['$share/g//mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/#', '$share/g//mcs/Dbxxxx9k/***/#'],
    ['MCS/Dbxxxx9k/TPJVxxxxxxxxBxBv/led', 'MCS/Dbxxxx9k/***/led'],
    ['x/Dbxxxx9k/TPJVxxxxxxxxBxBv', 'x/Dbxxxx9k/***'],
    ['Dbxxxx9k/TPJVxxxxxxxxBxBv', 'Dbxxxx9k/***'],
    // A key after something that is not a device id still has the key's shape.
    ['mcs/+/TPJVxxxxxxxxBxBv/+', 'mcs/+/***/+'],
    ['a/b/c/TPJVxxxxxxxxBxBv', 'a/b/c/***'],
    ['TPJVxxxxxxxxBxBv', '***'],
    // A wrong key of another length after a device id is masked all the same.
    ['mcs/Dbxxxx9k/short/+', 'mcs/Dbxxxx9k/***/+'],
    ['mcs/odd-id/whatever/+', 'mcs/odd-id/***/+'],
    // Wildcards and what is not a key stay readable.
    ['mcs/Dbxxxx9k/+/+', 'mcs/Dbxxxx9k/+/+'],
    ['mcs/Dbxxxx9k/#', 'mcs/Dbxxxx9k/#'],
    ['#', '#'],
    ['sensors/temperature', 'sensors/temperature'],
    ['', ''],
  ])('%s is logged as %s', (topic, logged) => {
    expect(redactTopic(topic)).toBe(logged);
  });
});

describe('formatFotaPayload', () => {
  const command = {
    timestamp: 1513133357160,
    version: '2.0',
    md5: '6A94D0C1E2F3A4B5C6D7E8F9A0B1C2D3',
    url: 'http://fw.example/a.bin',
  };

  it('writes timestamp,FOTA,version,MD5,URL with a lowercase MD5 and no newline', () => {
    expect(formatFotaPayload(command)).toBe(
      '1513133357160,FOTA,2.0,6a94d0c1e2f3a4b5c6d7e8f9a0b1c2d3,http://fw.example/a.bin',
    );
    expect(fotaTopic(device)).toBe('mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv/FOTA');
  });

  it('writes the literal null for an unknown MD5, never an empty field', () => {
    expect(formatFotaPayload({ ...command, md5: '' })).toBe('1513133357160,FOTA,2.0,null,http://fw.example/a.bin');
  });

  it.each([
    ['a comma in the version', { version: '2,0' }],
    ['an empty version', { version: '' }],
    ['a newline in the URL', { url: 'http://fw.example/a.bin\n' }],
  ])('refuses %s', (_name, change) => {
    expect(() => formatFotaPayload({ ...command, ...change })).toThrow(/FOTA field/);
  });
});
