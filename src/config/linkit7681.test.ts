import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.js';
import { problemsOf } from './testing/problems.js';

describe('LinkIt Connect 7681 settings', () => {
  it('is off by default', () => {
    expect(loadConfig({}).linkit7681).toBeUndefined();
  });

  it('reads the command server, discovery and timeouts when enabled', () => {
    expect(loadConfig({ FOTA_LINKIT7681_ENABLED: 'true', FOTA_TCP_PUBLIC_HOST: '192.168.1.50' }).linkit7681).toEqual({
      port: 768,
      publicHost: '192.168.1.50',
      publicPort: 768,
      discoveryPort: 80,
      identifyTimeoutMs: 10_000,
      idleTimeoutMs: 120_000,
      writeGapMs: 200,
    });
  });

  it.each([['4443'], ['0'], ['1000']])('refuses an advertised port %s: the board copies three digits', (port) => {
    expect(problemsOf({ FOTA_LINKIT7681_ENABLED: 'true', FOTA_LINKIT7681_PORT: port })).toEqual([
      expect.stringMatching(/FOTA_LINKIT7681_PUBLIC_PORT .* must be 1 to 999, .*copies at most three port digits/),
    ]);
  });

  it('binds any port when the advertised one is forwarded to it', () => {
    const config = loadConfig({
      FOTA_LINKIT7681_ENABLED: 'yes',
      FOTA_LINKIT7681_PORT: '0',
      FOTA_LINKIT7681_PUBLIC_PORT: '999',
      FOTA_LINKIT7681_PUBLIC_HOST: '10.0.0.7',
    });
    expect(config.linkit7681).toMatchObject({ port: 0, publicPort: 999, publicHost: '10.0.0.7' });
  });

  it('refuses a host name: the board resolves no names', () => {
    expect(problemsOf({ FOTA_LINKIT7681_ENABLED: 'true', FOTA_LINKIT7681_PUBLIC_HOST: 'fota.example.com' })).toEqual([
      expect.stringMatching(/FOTA_LINKIT7681_PUBLIC_HOST .* must be an IPv4 address/),
    ]);
    expect(problemsOf({ FOTA_LINKIT7681_ENABLED: 'maybe' })).toEqual([
      expect.stringMatching(/FOTA_LINKIT7681_ENABLED must be true or false/),
    ]);
  });
});
