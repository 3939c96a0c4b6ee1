import { BlockList, isIP } from 'node:net';

/**
 * The load balancers whose word on a client's address is taken (`FOTA_TRUSTED_PROXIES`): single
 * addresses and CIDR ranges, IPv4 and IPv6. An IPv4 client of a dual-stack listener shows as
 * `::ffff:a.b.c.d`; it matches the IPv4 entries.
 */
export class TrustedProxies {
  private readonly list = new BlockList();

  private constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits] = entry.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(bits), family);
    }
  }

  /** None trusted: every connection is a direct one. */
  static readonly none = new TrustedProxies([]);

  /** The entries of a comma-separated list; throws with the entry at fault. */
  static parse(text: string): TrustedProxies {
    const entries = text
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    for (const entry of entries) {
      const problem = entryProblem(entry);
      if (problem) throw new Error(`"${entry}" ${problem}`);
    }
    return entries.length === 0 ? TrustedProxies.none : new TrustedProxies(entries);
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** Whether a socket's remote address is one of the balancers. */
  has(address: string | undefined): boolean {
    if (address === undefined || this.empty) return false;
    const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
    const family = isIP(mapped);
    if (family === 0) return false;
    return this.list.check(mapped, family === 6 ? 'ipv6' : 'ipv4');
  }
}

function entryProblem(entry: string): string | undefined {
  const parts = entry.split('/');
  if (parts.length > 2) return 'is neither an address nor a CIDR range';
  const [address, bits] = parts as [string, string | undefined];
  const family = isIP(address);
  if (family === 0) return 'is not an IPv4 or IPv6 address';
  if (bits === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `has a prefix length outside 0..${max}`;
  return undefined;
}
