import { isIPv4, isIPv6 } from 'node:net';

/**
 * The PROXY protocol header a load balancer (HAProxy's `send-proxy`/`send-proxy-v2`, nginx's
 * `proxy_protocol on`) writes at the start of a TCP connection to name the client it relays
 * (haproxy.org/download/2.6/doc/proxy-protocol.txt). Version 1 is one text line, version 2 a
 * binary block; both are parsed here, from the first bytes of a connection, with nothing else.
 *
 * Refused: anything not starting with a v1 or v2 signature; a v1 line over 107 bytes, without
 * CRLF, with a protocol other than TCP4, TCP6 or UNKNOWN, a malformed or mismatched address, or a
 * port outside 0..65535 (or with a leading zero); a v2 block of another version, of a command
 * other than LOCAL or PROXY, of a datagram transport, of an unknown family, with an address block
 * shorter than its family needs, or announcing more than `MAX_V2_HEADER_BYTES` in all.
 */

/** The longest v1 line the spec allows, CRLF included ("PROXY TCP6 " + two IPv6 + two ports). */
export const MAX_V1_HEADER_BYTES = 107;
/**
 * The longest v2 header taken: 16 bytes, the UNIX address block (216) and room for TLVs (HAProxy's
 * SSL TLVs, AWS's VPC endpoint id). The spec allows 65,551; a balancer sends far less.
 */
export const MAX_V2_HEADER_BYTES = 4096;

const V1_SIGNATURE = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;

export interface ProxiedAddress {
  readonly address: string;
  readonly port: number;
}

export interface ProxyHeader {
  readonly version: 1 | 2;
  /**
   * `proxy`: a relayed connection, `source` is the client. `local` (v2 LOCAL, the balancer's own
   * health check) and `unknown` (v1 UNKNOWN, v2 AF_UNSPEC or AF_UNIX): keep the socket's address.
   */
  readonly command: 'proxy' | 'local' | 'unknown';
  readonly source?: ProxiedAddress | undefined;
  readonly destination?: ProxiedAddress | undefined;
}

export type ProxyParse =
  /** Not enough bytes yet to tell; read more (the caller bounds how many and for how long). */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'refused'; readonly reason: string }
  /** `length` bytes were the header; what follows is the relayed protocol's. */
  | { readonly kind: 'header'; readonly header: ProxyHeader; readonly length: number };

const incomplete: ProxyParse = { kind: 'incomplete' };
const refused = (reason: string): ProxyParse => ({ kind: 'refused', reason });

/** Whether `bytes` may be, are, or cannot be the start of a PROXY header (either version). */
export function proxySignature(bytes: Buffer): 'yes' | 'maybe' | 'no' {
  for (const signature of [V1_SIGNATURE, V2_SIGNATURE]) {
    const length = Math.min(bytes.length, signature.length);
    if (bytes.subarray(0, length).equals(signature.subarray(0, length))) {
      return length === signature.length ? 'yes' : 'maybe';
    }
  }
  return 'no';
}

/** Parses the header at the start of `bytes`, the first bytes a connection received. */
export function parseProxyHeader(bytes: Buffer): ProxyParse {
  switch (proxySignature(bytes)) {
    case 'no':
      return refused('no PROXY protocol signature');
    case 'maybe':
      return incomplete;
    case 'yes':
      return bytes[0] === V1_SIGNATURE[0] ? parseV1(bytes) : parseV2(bytes);
  }
}

const PORT = /^(0|[1-9]\d{0,4})$/;

function parseV1(bytes: Buffer): ProxyParse {
  const window = bytes.subarray(0, MAX_V1_HEADER_BYTES);
  const end = window.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    return bytes.length >= MAX_V1_HEADER_BYTES ? refused('a v1 line longer than 107 bytes') : incomplete;
  }
  const line = window.toString('latin1', 0, end);
  const length = end + 2;
  const fields = line.split(' ');
  if (fields[1] === 'UNKNOWN') return { kind: 'header', header: { version: 1, command: 'unknown' }, length };
  if (fields.length !== 6) return refused('a v1 line without exactly five fields after PROXY');
  const [, protocol, sourceAddress, destinationAddress, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const valid = protocol === 'TCP4' ? isIPv4 : protocol === 'TCP6' ? isIPv6 : undefined;
  if (!valid) return refused(`a v1 protocol other than TCP4, TCP6 or UNKNOWN`);
  if (!valid(sourceAddress) || !valid(destinationAddress)) return refused(`a v1 address that is not ${protocol}`);
  const ports = [sourcePort, destinationPort].map((port) => (PORT.test(port) ? Number(port) : NaN));
  if (ports.some((port) => !(port <= 65535))) return refused('a v1 port outside 0..65535');
  return {
    kind: 'header',
    header: {
      version: 1,
      command: 'proxy',
      source: { address: sourceAddress, port: ports[0]! },
      destination: { address: destinationAddress, port: ports[1]! },
    },
    length,
  };
}

/** Address block sizes by family (high nibble of byte 14): INET, INET6, UNIX. */
const ADDRESS_BYTES: Record<number, number> = { 0x0: 0, 0x1: 12, 0x2: 36, 0x3: 216 };

function parseV2(bytes: Buffer): ProxyParse {
  if (bytes.length < V2_FIXED_BYTES) return incomplete;
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) return refused(`a v2 signature with version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) return refused(`a v2 command ${command} (only LOCAL and PROXY exist)`);
  const family = bytes[13]! >> 4;
  const transport = bytes[13]! & 0x0f;
  const announced = bytes.readUInt16BE(14);
  const length = V2_FIXED_BYTES + announced;
  if (length > MAX_V2_HEADER_BYTES) return refused(`a v2 header of ${length} bytes, over ${MAX_V2_HEADER_BYTES}`);
  const addressBytes = ADDRESS_BYTES[family];
  if (addressBytes === undefined) return refused(`a v2 address family ${family}`);
  if (transport > 2) return refused(`a v2 transport ${transport}`);
  if (announced < addressBytes) return refused(`a v2 address block of ${announced} bytes, under ${addressBytes}`);
  if (bytes.length < length) return incomplete;
  // LOCAL: the balancer's own connection (a health check); its address block, if any, is ignored.
  if (command === 0) return { kind: 'header', header: { version: 2, command: 'local' }, length };
  if (transport === 2) return refused('a v2 datagram transport on a stream listener');
  if (family === 0x0 || family === 0x3) return { kind: 'header', header: { version: 2, command: 'unknown' }, length };
  const block = bytes.subarray(V2_FIXED_BYTES, V2_FIXED_BYTES + addressBytes);
  const [source, destination] = family === 0x1 ? inet(block) : inet6(block);
  // TLVs (after the address block, up to `length`) carry nothing fota uses: skipped.
  return { kind: 'header', header: { version: 2, command: 'proxy', source, destination }, length };
}

function inet(block: Buffer): [ProxiedAddress, ProxiedAddress] {
  return [
    { address: block.subarray(0, 4).join('.'), port: block.readUInt16BE(8) },
    { address: block.subarray(4, 8).join('.'), port: block.readUInt16BE(10) },
  ];
}

function inet6(block: Buffer): [ProxiedAddress, ProxiedAddress] {
  return [
    { address: ipv6(block.subarray(0, 16)), port: block.readUInt16BE(32) },
    { address: ipv6(block.subarray(16, 32)), port: block.readUInt16BE(34) },
  ];
}

/** The RFC 5952 text of 16 bytes: lower case, no leading zeros, the longest run of zeros as `::`. */
function ipv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let index = 0; index < 16; index += 2) groups.push(bytes.readUInt16BE(index));
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.subarray(12, 16).join('.')}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
