import { describe, expect, it } from 'vitest';
import { TrustedProxies } from '../net/trusted-proxies.js';
import { loadConfig } from './index.js';
import { itRefusesEach } from './testing/problems.js';

describe('proxy settings', () => {
  it('trusts no balancer and expects no PROXY header by default', () => {
    expect(loadConfig({}).proxies).toEqual({
      trusted: TrustedProxies.none,
      listeners: new Set(),
      headerTimeoutMs: 5000,
    });
  });

  it('reads the balancers, the listeners (any case, spaces around) and the header deadline', () => {
    const { proxies } = loadConfig({
      FOTA_TRUSTED_PROXIES: ' 10.0.0.1, 2001:db8::/32 ',
      FOTA_PROXY_PROTOCOL: 'TCP, mqtt,linkit7681,http',
      FOTA_PROXY_HEADER_TIMEOUT_S: '2',
    });
    expect(proxies.trusted.entries).toEqual(['10.0.0.1', '2001:db8::/32']);
    expect(proxies.trusted.has('2001:db8:ffff::1')).toBe(true);
    expect(proxies.listeners).toEqual(new Set(['tcp', 'mqtt', 'linkit7681', 'http']));
    expect(proxies.headerTimeoutMs).toBe(2000);
    expect(loadConfig({ FOTA_TRUSTED_PROXIES: '10.0.0.1', FOTA_PROXY_PROTOCOL: 'off' }).proxies.listeners.size).toBe(0);
  });

  itRefusesEach([
    ['FOTA_TRUSTED_PROXIES', '10.0.0.300', /FOTA_TRUSTED_PROXIES: "10.0.0.300" is not an IPv4 or IPv6 address/],
    ['FOTA_TRUSTED_PROXIES', '10.0.0.0/33', /"10.0.0.0\/33" has a prefix length outside 0..32/],
    ['FOTA_TRUSTED_PROXIES', 'fd00::/129', /"fd00::\/129" has a prefix length outside 0..128/],
    ['FOTA_TRUSTED_PROXIES', 'balancer.example.com', /is not an IPv4 or IPv6 address/],
    ['FOTA_PROXY_PROTOCOL', 'tcp', /FOTA_PROXY_PROTOCOL needs FOTA_TRUSTED_PROXIES/],
    ['FOTA_PROXY_PROTOCOL', 'smtp', /FOTA_PROXY_PROTOCOL names "smtp"; it takes tcp, mqtt, linkit7681, http or off/],
    ['FOTA_PROXY_HEADER_TIMEOUT_S', '0', /FOTA_PROXY_HEADER_TIMEOUT_S must be a number of seconds above 0/],
  ]);
});
