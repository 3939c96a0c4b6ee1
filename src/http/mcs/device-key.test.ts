import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { deviceKeyOf, unquote } from './device-key.js';

describe('unquote', () => {
  it.each<[string, string]>([
    ['TPJVxxxxxxxxBxBv', 'TPJVxxxxxxxxBxBv'],
    ['"TPJVxxxxxxxxBxBv"', 'TPJVxxxxxxxxBxBv'],
    ["'TPJVxxxxxxxxBxBv'", 'TPJVxxxxxxxxBxBv'],
    ['" TPJVxxxxxxxxBxBv "', 'TPJVxxxxxxxxBxBv'],
    ['""', ''],
    ["''", ''],
    ['"', '"'],
    ["'", "'"],
    ['', ''],
    ['"TPJVxxxxxxxxBxBv', '"TPJVxxxxxxxxBxBv'],
    ['TPJVxxxxxxxxBxBv"', 'TPJVxxxxxxxxBxBv"'],
    ['"TPJVxxxxxxxxBxBv\'', '"TPJVxxxxxxxxBxBv\''],
    ['"a"b"', 'a"b'],
    ['""TPJV""', '"TPJV"'],
  ])('%j → %j', (raw, expected) => {
    expect(unquote(raw)).toBe(expected);
  });
});

describe('deviceKeyOf', () => {
  const app = Fastify();
  app.get('/key', async (request) => ({ key: deviceKeyOf(request) ?? null }));

  it.each<[string, Record<string, string | string[]>, string | null]>([
    ['no header', {}, null],
    ['deviceKey', { deviceKey: 'TPJVxxxxxxxxBxBv' }, 'TPJVxxxxxxxxBxBv'],
    ['devicekey in lower case', { devicekey: 'TPJVxxxxxxxxBxBv' }, 'TPJVxxxxxxxxBxBv'],
    ['DEVICEKEY in upper case', { DEVICEKEY: 'TPJVxxxxxxxxBxBv' }, 'TPJVxxxxxxxxBxBv'],
    ['a quoted key', { deviceKey: '"TPJVxxxxxxxxBxBv"' }, 'TPJVxxxxxxxxBxBv'],
    ['a single-quoted key', { deviceKey: "'TPJVxxxxxxxxBxBv'" }, 'TPJVxxxxxxxxBxBv'],
    ['spaces around', { deviceKey: '  TPJVxxxxxxxxBxBv  ' }, 'TPJVxxxxxxxxBxBv'],
    ['an empty value', { deviceKey: '' }, ''],
  ])('%s', async (_label, headers, expected) => {
    const response = await app.inject({ method: 'GET', url: '/key', headers });
    expect(response.json()).toEqual({ key: expected });
  });
});
