import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decrypt, deviceKeyBytes, encrypt, encryptImage, fromHex, toHex, APP_KEY } from './crypto.js';
import { connectAnswer, readConnectAnswer, readRequestToken, requestToken } from './discovery-token.js';
import {
  decodeFrame,
  encodeFrame,
  fotaInfo,
  fotaStartUpdate,
  keepAlive,
  keepAliveResponse,
  readFotaReport,
  readFotaResponse,
  readFotaStart,
  statusResponse,
  FunctionCode,
  type Frame,
} from './frames.js';

// The test vectors of the protocol spec, §9: device Dq1w2e3r, key abcdefghijklmnop.
const ID = 'Dq1w2e3r';
const KEY = deviceKeyBytes('abcdefghijklmnop')!;
const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');

/** The V7 image: a 128-byte header `76 81 aa`, body length 200, type 4, then bytes 00..c7. */
function v7Image(): Buffer {
  const header = Buffer.alloc(128);
  Buffer.from([0x76, 0x81, 0xaa]).copy(header);
  header.writeUInt32LE(200, 3);
  header[7] = 4;
  return Buffer.concat([header, Buffer.from(Array.from({ length: 200 }, (_, i) => i))]);
}

describe('7681 crypto (spec §2, vectors V1, V11)', () => {
  it('V1: AES-CBC-PKCS#7("hello") encrypts and decrypts', () => {
    expect(toHex(encrypt(KEY, Buffer.from('hello')))).toBe('79f0fea49e19dd3cb03964de89f14568');
    expect(decrypt(KEY, hex('79f0fea49e19dd3cb03964de89f14568'))?.toString()).toBe('hello');
  });

  it('V11: the app activation request and replies under the HWID key', () => {
    const request = 'Activation,Dq1w2e3r,http://example.invalid,abcdefghijklmnop,12345,1';
    const cipher =
      '6845e9b18904f3459a5e0f12d95d84f72c33fa8c262314c3a7f9aa7d784d52370f0dffbe52d72c62d92022a8971305c2324d8e1be65d821d2fe327f608f807d3d580e3ae2cbccb222bc3febecf6696bf';
    expect(toHex(encrypt(APP_KEY, Buffer.from(request)))).toBe(cipher);
    expect(decrypt(APP_KEY, hex(cipher))?.toString()).toBe(request);
    expect(toHex(encrypt(APP_KEY, Buffer.from('1')))).toBe('843c1d611e61dcbf44b6252b4d894c7f');
    expect(decrypt(APP_KEY, hex('50adcad863453bacd8a9d318403ae79b'))?.toString()).toBe('0,01');
  });

  it('refuses a ciphertext that is empty, not whole blocks, or badly padded', () => {
    expect(decrypt(KEY, Buffer.alloc(0))).toBeUndefined();
    expect(decrypt(KEY, Buffer.alloc(17))).toBeUndefined();
    // A valid ciphertext under another key decrypts to a random last block: its pad is refused.
    expect(decrypt(deviceKeyBytes('ponmlkjihgfedcba')!, hex('79f0fea49e19dd3cb03964de89f14568'))).toBeUndefined();
  });

  it('takes only 16 printable ASCII characters as a device key', () => {
    expect(deviceKeyBytes('short')).toBeUndefined();
    expect(deviceKeyBytes('abcdefghijklmnopq')).toBeUndefined();
    expect(deviceKeyBytes('abcdefghijklmno\u00e9')).toBeUndefined();
    expect(fromHex('abc')).toBeUndefined();
    expect(fromHex('zz')).toBeUndefined();
    expect(fromHex('ABcd')).toEqual(Buffer.from([0xab, 0xcd]));
  });
});

describe('7681 discovery tokens (spec §4, vectors V2, V3)', () => {
  const v2 = 'f63446a0695ee1a6267ea7b639fe169dfa7635c407c47249fb384c04db89b057';
  const v3 = 'c0c28f83f9d7375b769c8724542849e539e39430e89b3eded2311119518da0bf';

  it('V2: the connect request token, both ways', () => {
    expect(requestToken(KEY, ID)).toBe(v2);
    expect(readRequestToken(KEY, v2)).toBe('Dq1w2e3r,1,2');
    expect(readRequestToken(KEY, v2.toUpperCase())).toBe('Dq1w2e3r,1,2');
  });

  it('V3: the connect answer, both ways', () => {
    expect(connectAnswer(KEY, '192.168.1.50', 443)).toBe(v3);
    expect(readConnectAnswer(KEY, v3)).toEqual({ ip: '192.168.1.50', port: 443 });
  });

  it('refuses a port the board cannot copy (at most three digits) and tokens that do not decrypt', () => {
    expect(() => connectAnswer(KEY, '192.168.1.50', 1000)).toThrow(/three port digits/);
    expect(() => connectAnswer(KEY, '192.168.1.50', 0)).toThrow(/1 to 999/);
    expect(readRequestToken(KEY, v2.slice(0, 62))).toBeUndefined();
    expect(readRequestToken(deviceKeyBytes('ponmlkjihgfedcba')!, v2)).toBeUndefined();
    expect(readRequestToken(KEY, 'g'.repeat(64))).toBeUndefined();
  });
});

describe('7681 frames (spec §5, §6, vectors V4–V6, V8, V9, V12)', () => {
  const vectors: Array<[string, Frame, string]> = [
    ['V4 device keep-alive', keepAlive(ID, 0), '504381764471317732653372 45cccf29fd869c15c16a8a98a6c4bafe'],
    [
      'V5 server keep-alive response',
      keepAliveResponse(ID, 0x0100),
      '504381764471317732653372 30842ea2a14e2869e8671b235725461d',
    ],
    [
      'V6 device FOTA_INFO',
      fotaInfo(ID, 0x0101, { bootMode: 0, major: 1, minor: 60 }),
      '504381764471317732653372ab5dccdd85770d8839205891374197d78f70c5fda987c4024ca6472294791f83',
    ],
    [
      'V9 FOTA_UPDATE_RESPONSE accepted',
      statusResponse(ID, 0x0102, FunctionCode.fotaUpdateResponse, 0),
      '50438176447131773265337299eca5db568a1470ff61c7e0771d7b831944e54b1ee80731faacb1bf577b78fe',
    ],
    [
      'V12 SET_GPIO_REQUEST',
      {
        deviceId: ID,
        commandId: 0x0103,
        type: 1,
        subType: FunctionCode.setGpioRequest,
        data: { type: 3, length: 8, payload: hex('1f000000 05000000') },
      },
      '504381764471317732653372a4aea8affe9e0b59e240ca5cfc5352dff573cf5df77c1dd1b0ede88f21e3514e',
    ],
  ];

  it.each(vectors)('%s encodes and decodes', (_name, frame, wire) => {
    expect(toHex(encodeFrame(KEY, frame))).toBe(wire.replace(/\s/g, ''));
    expect(decodeFrame(KEY, ID, hex(wire))).toEqual(frame);
  });

  it('V6 reads as boot 0, version 1.60; V9 as status 0', () => {
    const v6 = decodeFrame(KEY, ID, hex(vectors[2]![2]))!;
    expect(readFotaReport(v6)).toEqual({ bootMode: 0, major: 1, minor: 60 });
    expect(readFotaResponse(decodeFrame(KEY, ID, hex(vectors[3]![2]))!)).toBe(0);
  });

  it('V8 FOTA_START_UPDATE encodes (124 bytes) and decodes', () => {
    const start = {
      bootMode: 0,
      major: 1,
      minor: 61,
      imageLength: 328,
      md5: hex('648a64a8373dd0c6b94f137d8a808de8'),
      serverIp: '192.168.1.50',
      filePath: '/fota/Dq1w2e3r.bin',
    };
    const wire =
      '504381764471317732653372ec3629cc237875ae415e5cbf6e07baf207092f1aa3951544e2a0955c9c5ac7df01595dfe6f249da6f3dd2647a41b981a2b5938b94706ba9e5c9afa7712f0cff3a21aa810b16349f11640f119b8a003ea95f911b455042cd7cdb0d53227f4782858279cd623ba1fdce528948db2e12759';
    const encoded = encodeFrame(KEY, fotaStartUpdate(ID, 0x0102, start));
    expect(encoded.length).toBe(124);
    expect(toHex(encoded)).toBe(wire);
    expect(readFotaStart(decodeFrame(KEY, ID, hex(wire))!)).toEqual(start);
  });

  it('refuses frames the board could not take, and frames of another device or key', () => {
    const start = {
      bootMode: 0,
      major: 1,
      minor: 61,
      imageLength: 1,
      md5: Buffer.alloc(16),
      serverIp: '192.168.1.50',
      filePath: '/fota/x.bin',
    };
    expect(() => fotaStartUpdate(ID, 1, { ...start, serverIp: 'example.org' })).toThrow(/IPv4/);
    expect(() => fotaStartUpdate(ID, 1, { ...start, filePath: `/${'a'.repeat(63)}` })).toThrow(/63/);
    expect(() =>
      encodeFrame(KEY, { ...keepAlive(ID, 1), data: { type: 2, length: 200, payload: Buffer.alloc(200) } }),
    ).toThrow(/at most 140/);
    const wire = hex(vectors[0]![2]);
    expect(decodeFrame(KEY, 'Dq1w2e3s', wire)).toBeUndefined();
    expect(decodeFrame(deviceKeyBytes('ponmlkjihgfedcba')!, ID, wire)).toBeUndefined();
    expect(decodeFrame(KEY, ID, wire.subarray(0, 27))).toBeUndefined();
    // A frame whose clear id is right but whose inner id (DeviceIDCopy) is another device's.
    const inner = encodeFrame(KEY, keepAlive('Dq1w2e3s', 0));
    expect(decodeFrame(KEY, ID, Buffer.concat([wire.subarray(0, 12), inner.subarray(12)]))).toBeUndefined();
  });
});

describe('7681 image encryption (spec §6.4, vectors V7, V10)', () => {
  it('V7: E mod 128 ≠ 0 gives ImageLen P and the MD5 of the plaintext', () => {
    const plain = v7Image();
    const image = encryptImage(KEY, plain);
    expect(image.body.length).toBe(336);
    expect(image.imageLength).toBe(328);
    expect(toHex(image.md5)).toBe('648a64a8373dd0c6b94f137d8a808de8');
    expect(toHex(image.body.subarray(0, 32))).toBe('6bad8be790ec432a7e6dcbe9905c991a6b13ab7bc96969d05c9e445a72a62a0b');
    expect(toHex(image.body.subarray(-16))).toBe('3b57fe34b3076efe210c66634141be22');
    expect(decrypt(KEY, image.body)).toEqual(plain);
  });

  it('V10: E mod 128 = 0 gives ImageLen E and the MD5 of plaintext and padding', () => {
    const header = Buffer.alloc(128);
    Buffer.from([0x76, 0x81, 0xaa]).copy(header);
    header.writeUInt32LE(632, 3);
    header[7] = 4;
    const plain = Buffer.concat([header, Buffer.from(Array.from({ length: 632 }, (_, i) => (7 * i) % 256))]);
    const image = encryptImage(KEY, plain);
    expect(image.body.length).toBe(768);
    expect(image.imageLength).toBe(768);
    expect(toHex(image.md5)).toBe('ddaa1a38110d2b3188aab4f047e9264b');
    expect(createHash('md5').update(plain).digest('hex').startsWith('2efe0142')).toBe(true);
  });
});
