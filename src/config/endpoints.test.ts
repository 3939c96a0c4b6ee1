import { describe, expect, it } from 'vitest';
import { deviceEndpoints, loadConfig, longestFotaLineBytes, MAX_FOTA_LINE_BYTES } from './index.js';
import { itRefusesEach, problemsOf } from './testing/problems.js';

/** A URL base of exactly `length` characters. */
const urlOfLength = (length: number): string => {
  const base = 'https://fota.example.com/';
  return base + 'p'.repeat(length - base.length);
};

describe('what devices are told', () => {
  it('bases the default FOTA_PUBLIC_URL on FOTA_HTTP_PORT', () => {
    expect(loadConfig({ FOTA_HTTP_PORT: '18480' }).publicUrl).toBe('http://localhost:18480');
    expect(loadConfig({ FOTA_HTTP_PORT: '18480', FOTA_PUBLIC_URL: 'http://fw.example' }).publicUrl).toBe(
      'http://fw.example',
    );
  });

  itRefusesEach([
    ['FOTA_TCP_PORT', '70000', /port number/],
    ['FOTA_PUBLIC_URL', 'not a url', /absolute http:\/\/ or https:\/\/ URL/],
    ['FOTA_PUBLIC_URL', '/relative/path', /absolute/],
    ['FOTA_PUBLIC_URL', 'ftp://files.example.com', /start with http:\/\/ or https:\/\//],
    ['FOTA_PUBLIC_URL', 'localhost:8080', /start with http:\/\/ or https:\/\//],
    ['FOTA_PUBLIC_URL', 'http://example.com/?a=1', /query, a fragment or credentials/],
    ['FOTA_PUBLIC_URL', 'http://example.com/#top', /query, a fragment or credentials/],
    ['FOTA_PUBLIC_URL', 'http://user:secret@example.com', /query, a fragment or credentials/],
    ['FOTA_PUBLIC_URL', 'http://example.com/a,b', /commas or whitespace/],
    ['FOTA_PUBLIC_URL', urlOfLength(62), /too long: .* 200 bytes, .* at most 199; use a URL of at most 61 characters/],
    ['FOTA_TCP_PUBLIC_HOST', 'a,b', /commas or whitespace/],
    ['FOTA_TCP_PUBLIC_HOST', 'a b', /commas or whitespace/],
  ]);

  it.each<[string, string, boolean]>([
    ['127.0.0.1', '4443', true],
    ['123.123.123.123', '4443', true],
    ['123.123.123.123', '44443', false],
    ['fota.example.com', '443', true],
    ['fota.example.com', '4443', false],
    ['a-very-long-host.example.com', '1', false],
  ])('connections.csv "%s,%s" within 20 characters: %s', (host, port, accepted) => {
    const problems = problemsOf({ FOTA_TCP_PUBLIC_HOST: host, FOTA_TCP_PORT: port });
    if (accepted) {
      expect(problems).toEqual([]);
    } else {
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('FOTA_TCP_PUBLIC_HOST and FOTA_TCP_PORT');
      expect(problems[0]).toContain(`"${host},${port}" (${host.length + 1 + port.length} characters)`);
    }
  });
});

describe('the FOTA line limit', () => {
  /** The longest line a device can get, built field by field as the TCP server sends a push. */
  const longestLine = (publicUrl: string): string =>
    ['D1234567', 'TPJVxxxxxxxxBxBv', '1513132150790', 'FOTA', '9'.repeat(32), 'f'.repeat(32)].join(',') +
    `,${publicUrl}/fw/p/aB3dE5gH7jK9mN1pQ3sT5`;

  it.each(['http://localhost:8080', urlOfLength(61), urlOfLength(62), 'https://ü.example/😀'])(
    'counts the bytes of the longest line for %s',
    (publicUrl) => {
      expect(longestFotaLineBytes(publicUrl)).toBe(Buffer.byteLength(longestLine(publicUrl)));
    },
  );

  it.each<[string, string, boolean]>([
    ['a URL exactly at the limit', urlOfLength(61), true],
    ['the same URL with a trailing slash', `${urlOfLength(61)}/`, true],
    ['one character more', urlOfLength(62), false],
    ['far too long', urlOfLength(150), false],
  ])('%s: accepted %s', (_label, publicUrl, accepted) => {
    const problems = problemsOf({ FOTA_PUBLIC_URL: publicUrl });
    const bytes = Buffer.byteLength(longestLine(publicUrl.replace(/\/+$/, '')));
    expect(bytes <= MAX_FOTA_LINE_BYTES).toBe(accepted);
    if (accepted) {
      expect(bytes).toBeLessThanOrEqual(199);
      expect(problems).toEqual([]);
    } else {
      expect(problems).toEqual([expect.stringContaining(`FOTA_PUBLIC_URL is too long`)]);
    }
  });

  it('a URL at the limit gives a line that fits a 200-byte buffer with its NUL', () => {
    expect(Buffer.byteLength(longestLine(urlOfLength(61))) + 1).toBe(200);
  });
});

describe('deviceEndpoints', () => {
  it('says what devices are told: downloads, the TCP server as connections.csv answers, MQTT', () => {
    const config = loadConfig({ FOTA_HOST: '127.0.0.1', FOTA_HTTP_PORT: '18480', FOTA_TCP_PORT: '4443' });
    expect(deviceEndpoints(config)).toEqual({
      downloads: 'http://localhost:18480/fw/',
      tcp: '127.0.0.1,4443',
      mqtt: '127.0.0.1:1883',
      warnings: [],
    });
  });

  it.each<[Record<string, string>, string[]]>([
    [{}, ['FOTA_PUBLIC_URL', 'FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_HOST: '::' }, ['FOTA_PUBLIC_URL', 'FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_PUBLIC_URL: 'http://127.0.0.1:8080' }, ['FOTA_PUBLIC_URL', 'FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_PUBLIC_URL: 'http://[::1]:8080' }, ['FOTA_PUBLIC_URL', 'FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_PUBLIC_URL: 'http://192.168.1.5:8080' }, ['FOTA_TCP_PUBLIC_HOST']],
    [{ FOTA_PUBLIC_URL: 'http://192.168.1.5:8080', FOTA_TCP_PUBLIC_HOST: '192.168.1.5' }, []],
    [{ FOTA_HOST: '127.0.0.1' }, []],
  ])('with %j, warns about loopback addresses naming %j', (env, named) => {
    const { warnings } = deviceEndpoints(loadConfig(env));
    expect(warnings).toHaveLength(named.length);
    named.forEach((name, index) => expect(warnings[index]).toContain(name));
  });
});
