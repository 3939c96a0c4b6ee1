import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../domain/errors.js';
import { formatTcpFota, MAX_TCP_LINE_BYTES } from './fota-line.js';

const ID = 'Dbxxxx9k';
const KEY = 'TPJVxxxxxxxxBxBv';
const command: Parameters<typeof formatTcpFota>[2] = {
  timestamp: 1513132150790,
  version: '2.0',
  md5: '6a94d5c1e3c2b1a0f9e8d7c6b5a4f3e2',
  url: 'http://fw.example/f/FAa6B540CMmJ/a.bin',
};

function refusal(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(isDomainError(error, 'invalid_input')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('formatTcpFota', () => {
  it('writes deviceId,deviceKey,timestamp,FOTA,version,MD5,URL with no newline', () => {
    expect(formatTcpFota(ID, KEY, command)).toBe(
      'Dbxxxx9k,TPJVxxxxxxxxBxBv,1513132150790,FOTA,2.0,6a94d5c1e3c2b1a0f9e8d7c6b5a4f3e2,http://fw.example/f/FAa6B540CMmJ/a.bin',
    );
  });

  it('lowercases the MD5 and writes null when it is unknown', () => {
    expect(formatTcpFota(ID, KEY, { ...command, md5: 'ABCDEF' }).split(',')[5]).toBe('abcdef');
    expect(formatTcpFota(ID, KEY, { ...command, md5: '' }).split(',')[5]).toBe('null');
  });

  it('always writes 13 timestamp digits', () => {
    expect(formatTcpFota(ID, KEY, { ...command, timestamp: 42 }).split(',')[2]).toBe('0000000000042');
    expect(refusal(() => formatTcpFota(ID, KEY, { ...command, timestamp: 10_000_000_000_000 }))).toMatch(/13 digits/);
    expect(refusal(() => formatTcpFota(ID, KEY, { ...command, timestamp: -1 }))).toMatch(/13 digits/);
    expect(refusal(() => formatTcpFota(ID, KEY, { ...command, timestamp: 1.5 }))).toMatch(/13 digits/);
  });

  it.each([
    ['a comma in the version', { version: '1,2' }],
    ['a comma in the URL', { url: 'http://x/a,b.bin' }],
    ['an empty version', { version: '' }],
    ['an empty URL', { url: '' }],
    ['a newline in the URL', { url: 'http://x/a.bin\n' }],
    ['a NUL in the version', { version: '1\0' }],
  ])('refuses %s', (_what, change) => {
    expect(refusal(() => formatTcpFota(ID, KEY, { ...command, ...change }))).toMatch(/empty|comma/);
  });

  it('refuses a line of 200 bytes or more, and accepts 199', () => {
    const base = formatTcpFota(ID, KEY, { ...command, url: 'u' }).length - 1;
    const fits = formatTcpFota(ID, KEY, { ...command, url: 'u'.repeat(MAX_TCP_LINE_BYTES - 1 - base) });
    expect(Buffer.byteLength(fits)).toBe(199);
    expect(refusal(() => formatTcpFota(ID, KEY, { ...command, url: 'u'.repeat(MAX_TCP_LINE_BYTES - base) }))).toMatch(
      /200 bytes/,
    );
    // bytes, not characters
    const twoByteUrl = 'é'.repeat(Math.ceil((MAX_TCP_LINE_BYTES - base) / 2));
    expect(base + twoByteUrl.length).toBeLessThan(MAX_TCP_LINE_BYTES);
    expect(refusal(() => formatTcpFota(ID, KEY, { ...command, url: twoByteUrl }))).toMatch(/200 bytes/);
  });

  it('fits a 32-character version with a short URL', () => {
    const line = formatTcpFota(ID, KEY, { ...command, version: 'v'.repeat(32) });
    expect(Buffer.byteLength(line)).toBeLessThan(MAX_TCP_LINE_BYTES);
  });
});
