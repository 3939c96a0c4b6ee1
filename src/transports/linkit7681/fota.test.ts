import { describe, expect, it } from 'vitest';
import { imageProblem } from './fota.js';

function image(bodyBytes: number, type = 4, declared = bodyBytes): Buffer {
  const header = Buffer.alloc(128);
  Buffer.from([0x76, 0x81, 0xaa]).copy(header);
  header.writeUInt32LE(declared, 3);
  header[7] = type;
  return Buffer.concat([header, Buffer.alloc(bodyBytes, 0x5a)]);
}

describe('the 7681 image check (spec §6.4)', () => {
  it('accepts an MT7681 image whose header matches the file and the boot mode', () => {
    expect(imageProblem(image(200), 0)).toBeUndefined();
    expect(imageProblem(image(200, 6), 1)).toBeUndefined();
  });

  it.each([
    ['no header', Buffer.alloc(300, 1), 0, /starts with its 128-byte header 76 81 AA/],
    ['only a header', image(0), 0, /starts with its 128-byte header/],
    ['a length that disagrees', image(200, 4, 199), 0, /says 199 bytes of firmware, the file has 200/],
    ['an AP image for an STA board', image(200, 6), 0, /type 6 does not match the board's boot mode 0/],
    ['an STA image for an AP board', image(200, 4), 1, /type 4 does not match the board's boot mode 1/],
  ])('refuses %s', (_name, bytes, bootMode, message) => {
    expect(imageProblem(bytes, bootMode)).toMatch(message);
  });
});
