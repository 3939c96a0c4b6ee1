import { describe, expect, it } from 'vitest';
import { cleanFileName } from './file-name.js';

describe('cleanFileName', () => {
  it.each<[string, string | undefined, string]>([
    ['a plain name', 'a.bin', 'a.bin'],
    ['a relative path upwards', '../../x', 'x'],
    ['an absolute path', '/etc/passwd', 'passwd'],
    ['a Windows path', 'C:\\a\\b.bin', 'b.bin'],
    ['a mixed path', 'dir\\sub/../fw.bin', 'fw.bin'],
    ['a trailing slash', 'folder/', 'firmware.bin'],
    ['only dots', '..', 'firmware.bin'],
    ['one dot', '.', 'firmware.bin'],
    ['dots after a path', 'a/b/..', 'firmware.bin'],
    ['empty', '', 'firmware.bin'],
    ['missing', undefined, 'firmware.bin'],
    ['only spaces', '   ', 'firmware.bin'],
    ['surrounding spaces', '  fw 1.bin  ', 'fw 1.bin'],
    ['a NUL byte', 'fw\0.bin', 'fw.bin'],
    ['a CR LF (header injection)', 'fw.bin\r\nSet-Cookie: x=1', 'fw.binSet-Cookie: x=1'],
    ['a tab and an escape', 'fw\t\x1b[31m.bin', 'fw[31m.bin'],
    ['DEL', 'fw\x7f.bin', 'fw.bin'],
    ['C1 controls', 'fw\x85\x9b.bin', 'fw.bin'],
    ['double quotes', 'my "best" fw.bin', 'my best fw.bin'],
    ['single quotes kept', "it's.bin", "it's.bin"],
    ['only control characters', '\x01\x02', 'firmware.bin'],
    ['a lone surrogate', 'fw\ud800.bin', 'fw.bin'],
    ['non-ASCII kept', 'prošivka-ファーム.bin', 'prošivka-ファーム.bin'],
  ])('%s: %j → %j', (_label, raw, expected) => {
    expect(cleanFileName(raw)).toBe(expected);
  });

  it.each<[string, string, number]>([
    ['ASCII', 'a'.repeat(300), 200],
    ['emoji across the limit', `${'a'.repeat(199)}${'😀'.repeat(5)}`, 199],
    ['emoji only', '😀'.repeat(150), 200],
  ])('keeps at most 200 characters of a long %s name, never half a character', (_label, raw, length) => {
    const cleaned = cleanFileName(raw);
    expect(cleaned).toHaveLength(length);
    expect(cleaned).not.toMatch(/\p{Cs}/u);
    expect(() => encodeURIComponent(cleaned)).not.toThrow();
    expect(raw.startsWith(cleaned)).toBe(true);
  });
});
