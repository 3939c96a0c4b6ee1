import { describe, expect, it } from 'vitest';
import { MAX_V1_HEADER_BYTES, MAX_V2_HEADER_BYTES, parseProxyHeader, proxySignature } from './proxy-protocol.js';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: signature, version/command, family/transport, length, then `body`. */
function v2(versionCommand: number, familyTransport: number, body: Buffer, announced = body.length): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = versionCommand;
  fixed[1] = familyTransport;
  fixed.writeUInt16BE(announced, 2);
  return Buffer.concat([SIGNATURE, fixed, body]);
}

const ipv4Block = (source: number[], destination: number[], sourcePort: number, destinationPort: number) => {
  const block = Buffer.alloc(12);
  Buffer.from(source).copy(block, 0);
  Buffer.from(destination).copy(block, 4);
  block.writeUInt16BE(sourcePort, 8);
  block.writeUInt16BE(destinationPort, 10);
  return block;
};

const ipv6Block = (source: string, destination: string, sourcePort: number, destinationPort: number) => {
  const block = Buffer.alloc(36);
  Buffer.from(source, 'hex').copy(block, 0);
  Buffer.from(destination, 'hex').copy(block, 16);
  block.writeUInt16BE(sourcePort, 32);
  block.writeUInt16BE(destinationPort, 34);
  return block;
};

/** A TLV: type, 16-bit length, value. */
const tlv = (type: number, value: Buffer) => {
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
};

const text = (line: string) => Buffer.from(line, 'latin1');

describe('parseProxyHeader, version 1', () => {
  it('reads TCP4 (the spec example) and keeps the bytes after the line for the protocol', () => {
    const bytes = text('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nD0001,key,0');
    const parsed = parseProxyHeader(bytes);
    expect(parsed).toEqual({
      kind: 'header',
      header: {
        version: 1,
        command: 'proxy',
        source: { address: '192.168.0.1', port: 56324 },
        destination: { address: '192.168.0.11', port: 443 },
      },
      length: 47,
    });
    expect(bytes.subarray(47).toString()).toBe('D0001,key,0');
  });

  it('reads TCP6', () => {
    const parsed = parseProxyHeader(text('PROXY TCP6 2001:db8::1 ::1 65535 0\r\n'));
    expect(parsed).toMatchObject({
      kind: 'header',
      header: { command: 'proxy', source: { address: '2001:db8::1', port: 65535 }, destination: { port: 0 } },
    });
  });

  it('reads UNKNOWN, alone or with the worst-case 107-byte line, as "keep the socket address"', () => {
    expect(parseProxyHeader(text('PROXY UNKNOWN\r\n'))).toEqual({
      kind: 'header',
      header: { version: 1, command: 'unknown' },
      length: 15,
    });
    const f = 'ffff:'.repeat(7) + 'ffff';
    const longest = `PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`;
    expect(longest.length).toBe(MAX_V1_HEADER_BYTES);
    expect(parseProxyHeader(text(longest))).toMatchObject({ kind: 'header', length: 107 });
  });

  it('waits for more bytes while the line may still be valid, over any split', () => {
    const line = text('PROXY TCP4 10.1.2.3 10.0.0.1 40000 4443\r\n');
    for (let cut = 0; cut < line.length; cut++) {
      expect(parseProxyHeader(line.subarray(0, cut)).kind, `${cut} bytes`).toBe('incomplete');
    }
    expect(parseProxyHeader(line).kind).toBe('header');
  });

  it.each([
    ['no CRLF within 107 bytes', `PROXY TCP4 ${'1'.repeat(110)}`, /longer than 107 bytes/],
    ['a line of 108 bytes', `PROXY UNKNOWN ${'x'.repeat(92)}\r\n`, /longer than 107 bytes/],
    ['another protocol', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', /protocol other than TCP4, TCP6 or UNKNOWN/],
    ['lower case', 'PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n', /protocol other than/],
    ['a bad IPv4 address', 'PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n', /address that is not TCP4/],
    ['an IPv6 address under TCP4', 'PROXY TCP4 ::1 5.6.7.8 1 2\r\n', /address that is not TCP4/],
    ['an IPv4 address under TCP6', 'PROXY TCP6 1.2.3.4 ::1 1 2\r\n', /address that is not TCP6/],
    ['a host name', 'PROXY TCP4 example.com 5.6.7.8 1 2\r\n', /address that is not TCP4/],
    ['a port over 65535', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', /port outside 0..65535/],
    ['a negative port', 'PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n', /port outside/],
    ['a port with a leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n', /port outside/],
    ['a port in hex', 'PROXY TCP4 1.2.3.4 5.6.7.8 0x50 2\r\n', /port outside/],
    ['a missing port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', /exactly five fields/],
    ['two spaces', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', /exactly five fields/],
    ['a field too many', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n', /exactly five fields/],
  ])('refuses %s', (_, line, reason) => {
    const parsed = parseProxyHeader(text(line));
    expect(parsed.kind).toBe('refused');
    expect(parsed.kind === 'refused' && parsed.reason).toMatch(reason);
  });
});

describe('parseProxyHeader, version 2', () => {
  it('reads PROXY over IPv4 (TCP) and keeps what follows for the protocol', () => {
    const connect = Buffer.from('101000044d5154540404', 'hex');
    const bytes = Buffer.concat([v2(0x21, 0x11, ipv4Block([127, 0, 0, 2], [10, 0, 0, 11], 51000, 1883)), connect]);
    const parsed = parseProxyHeader(bytes);
    expect(parsed).toEqual({
      kind: 'header',
      header: {
        version: 2,
        command: 'proxy',
        source: { address: '127.0.0.2', port: 51000 },
        destination: { address: '10.0.0.11', port: 1883 },
      },
      length: 28,
    });
    expect(bytes.subarray(28)).toEqual(connect);
  });

  it('reads PROXY over IPv6, in RFC 5952 text, IPv4-mapped as ::ffff:a.b.c.d', () => {
    const parsed = parseProxyHeader(
      v2(0x21, 0x21, ipv6Block('20010db8000000000000000000000001', '00000000000000000000ffffc0000201', 1, 443)),
    );
    expect(parsed).toMatchObject({
      kind: 'header',
      header: { source: { address: '2001:db8::1', port: 1 }, destination: { address: '::ffff:192.0.2.1' } },
      length: 52,
    });
    const groups = parseProxyHeader(
      v2(0x21, 0x21, ipv6Block('20010db8000000010000000000000000', 'fe800000000000000000000000000000', 2, 3)),
    );
    expect(groups).toMatchObject({
      header: { source: { address: '2001:db8:0:1::' }, destination: { address: 'fe80::' } },
    });
    const noRun = parseProxyHeader(
      v2(0x21, 0x21, ipv6Block('20010db8000100020003000400050006', '20010db8000000010001000100010001', 2, 3)),
    );
    expect(noRun).toMatchObject({
      header: { source: { address: '2001:db8:1:2:3:4:5:6' }, destination: { address: '2001:db8:0:1:1:1:1:1' } },
    });
  });

  it('skips TLVs after the address block (HAProxy SSL, AWS VPC endpoint, NOOP)', () => {
    const tlvs = Buffer.concat([
      tlv(0x20, Buffer.from('0100000000', 'hex')),
      tlv(0xea, Buffer.from('\x01vpce-0123456789abcdef', 'latin1')),
      tlv(0x04, Buffer.alloc(5)),
    ]);
    const header = v2(0x21, 0x11, Buffer.concat([ipv4Block([198, 51, 100, 7], [10, 0, 0, 1], 40000, 4443), tlvs]));
    const parsed = parseProxyHeader(Buffer.concat([header, Buffer.from('D1,k,0')]));
    expect(parsed).toMatchObject({
      kind: 'header',
      header: { source: { address: '198.51.100.7', port: 40000 } },
      length: header.length,
    });
  });

  it('reads LOCAL (a health check) as "keep the socket address", with or without an address block', () => {
    expect(parseProxyHeader(v2(0x20, 0x00, Buffer.alloc(0)))).toEqual({
      kind: 'header',
      header: { version: 2, command: 'local' },
      length: 16,
    });
    expect(parseProxyHeader(v2(0x20, 0x11, ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)))).toMatchObject({
      header: { command: 'local' },
      length: 28,
    });
  });

  it('reads AF_UNSPEC and AF_UNIX as "keep the socket address"', () => {
    expect(parseProxyHeader(v2(0x21, 0x00, Buffer.alloc(0)))).toMatchObject({ header: { command: 'unknown' } });
    expect(parseProxyHeader(v2(0x21, 0x31, Buffer.alloc(216)))).toMatchObject({
      header: { command: 'unknown' },
      length: 232,
    });
  });

  it('waits for the whole announced length, over any split', () => {
    const header = v2(
      0x21,
      0x11,
      Buffer.concat([ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 9, 10), tlv(4, Buffer.alloc(9))]),
    );
    for (let cut = 0; cut < header.length; cut++) {
      expect(parseProxyHeader(header.subarray(0, cut)).kind, `${cut} bytes`).toBe('incomplete');
    }
    expect(parseProxyHeader(header).kind).toBe('header');
  });

  it('takes a header of MAX_V2_HEADER_BYTES and refuses one byte more, before it arrives', () => {
    const block = ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 9, 10);
    const most = MAX_V2_HEADER_BYTES - 16;
    const padded = Buffer.concat([block, tlv(4, Buffer.alloc(most - 12 - 3))]);
    expect(parseProxyHeader(v2(0x21, 0x11, padded))).toMatchObject({ kind: 'header', length: MAX_V2_HEADER_BYTES });
    const over = parseProxyHeader(v2(0x21, 0x11, block, most + 1));
    expect(over).toEqual({ kind: 'refused', reason: `a v2 header of 4097 bytes, over ${MAX_V2_HEADER_BYTES}` });
    expect(parseProxyHeader(v2(0x21, 0x11, block, 0xffff)).kind).toBe('refused');
  });

  it.each([
    ['version 1 in the binary form', v2(0x11, 0x11, Buffer.alloc(12)), /version 1/],
    ['version 3', v2(0x31, 0x11, Buffer.alloc(12)), /version 3/],
    ['command 2', v2(0x22, 0x11, Buffer.alloc(12)), /command 2/],
    ['command 15', v2(0x2f, 0x11, Buffer.alloc(12)), /command 15/],
    ['family 4', v2(0x21, 0x41, Buffer.alloc(12)), /address family 4/],
    ['transport 3', v2(0x21, 0x13, Buffer.alloc(12)), /transport 3/],
    ['a datagram', v2(0x21, 0x12, Buffer.alloc(12)), /datagram/],
    ['an IPv4 block of 11 bytes', v2(0x21, 0x11, Buffer.alloc(11)), /address block of 11 bytes, under 12/],
    ['an IPv6 block of 12 bytes', v2(0x21, 0x21, Buffer.alloc(12)), /address block of 12 bytes, under 36/],
    ['a UNIX block of 36 bytes', v2(0x21, 0x31, Buffer.alloc(36)), /address block of 36 bytes, under 216/],
  ])('refuses %s', (_, bytes, reason) => {
    const parsed = parseProxyHeader(bytes);
    expect(parsed.kind).toBe('refused');
    expect(parsed.kind === 'refused' && parsed.reason).toMatch(reason);
  });
});

describe('signatures', () => {
  it.each([
    ['an MCS heartbeat', 'D0001,key,1'],
    ['an MQTT CONNECT', '\x10\x10\x00\x04MQTT'],
    ['an HTTP request', 'GET / HTTP/1.1\r\n'],
    ['a PROXY word without its space', 'PROXYTCP4'],
    ['a v2 signature with one byte wrong', '\r\n\r\n\x00\r\nQUIT\r'],
  ])('refuses %s where a header must be', (_, bytes) => {
    expect(parseProxyHeader(text(bytes))).toEqual({ kind: 'refused', reason: 'no PROXY protocol signature' });
    expect(proxySignature(text(bytes))).toBe('no');
  });

  it('tells a signature, a start of one and none apart', () => {
    expect(proxySignature(text('PROXY '))).toBe('yes');
    expect(proxySignature(SIGNATURE)).toBe('yes');
    expect(proxySignature(Buffer.alloc(0))).toBe('maybe');
    expect(proxySignature(text('PROX'))).toBe('maybe');
    expect(proxySignature(SIGNATURE.subarray(0, 11))).toBe('maybe');
    expect(proxySignature(text('D'))).toBe('no');
  });
});
