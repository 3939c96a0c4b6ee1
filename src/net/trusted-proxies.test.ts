import { describe, expect, it } from 'vitest';
import { TrustedProxies } from './trusted-proxies.js';

describe('TrustedProxies', () => {
  const trusted = TrustedProxies.parse(' 10.0.0.10, 192.168.4.0/22 ,2001:db8:1::/48, fd00::1 ');

  it.each([
    ['10.0.0.10', true],
    ['10.0.0.11', false],
    ['192.168.4.0', true],
    ['192.168.7.255', true],
    ['192.168.8.0', false],
    ['::ffff:10.0.0.10', true],
    ['::ffff:192.168.5.1', true],
    ['2001:db8:1:ffff::1', true],
    ['2001:db8:2::1', false],
    ['fd00::1', true],
    ['fd00:0:0:0:0:0:0:1', true],
    ['fd00::2', false],
    ['not an address', false],
    [undefined, false],
  ])('%s is trusted: %s', (address, expected) => {
    expect(trusted.has(address)).toBe(expected);
  });

  it('trusts nobody when empty, and an empty list is TrustedProxies.none', () => {
    expect(TrustedProxies.parse('').empty).toBe(true);
    expect(TrustedProxies.parse(' , ')).toBe(TrustedProxies.none);
    expect(TrustedProxies.none.has('127.0.0.1')).toBe(false);
  });

  it.each([
    ['10.0.0.256', /"10.0.0.256" is not an IPv4 or IPv6 address/],
    ['10.0.0.0/33', /prefix length outside 0..32/],
    ['::/129', /prefix length outside 0..128/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/8/8', /neither an address nor a CIDR range/],
    ['balancer.internal', /not an IPv4 or IPv6 address/],
  ])('refuses %s', (text, message) => {
    expect(() => TrustedProxies.parse(text)).toThrow(message);
  });
});
