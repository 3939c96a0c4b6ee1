import { mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createServeOutput, prettyLine, tokenBanner } from './log-output.js';

const at = new Date(2026, 11, 1, 9, 5, 7).getTime();

describe('prettyLine', () => {
  it.each<[Record<string, unknown>, string]>([
    [{ level: 30, time: at, pid: 1, hostname: 'h', msg: 'fota is serving' }, '09:05:07 INFO  fota is serving\n'],
    [{ level: 40, time: at, msg: 'careful', port: 80, host: 'a b' }, '09:05:07 WARN  careful port=80 host="a b"\n'],
    [
      { level: 50, time: at, msg: 'failed', nested: { a: 1, b: [2] } },
      '09:05:07 ERROR failed nested.a=1 nested.b=[2]\n',
    ],
    [{ level: 30, time: at, msg: 'x', id: 'D1234567' }, '09:05:07 INFO  x id=D1234567\n'],
  ])('formats %j', (entry, text) => {
    expect(prettyLine(`${JSON.stringify(entry)}\n`)).toBe(text);
  });

  it('puts each field of a long line on its own line', () => {
    const line = JSON.stringify({
      level: 30,
      time: at,
      msg: 'fota is serving',
      devices: { downloads: 'x'.repeat(60), tcp: 'y'.repeat(60) },
    });
    expect(prettyLine(line)).toBe(
      `09:05:07 INFO  fota is serving\n    devices.downloads=${'x'.repeat(60)}\n    devices.tcp=${'y'.repeat(60)}\n`,
    );
  });

  it('puts the stack of an error below its line, indented', () => {
    const line = JSON.stringify({ level: 50, time: at, msg: 'boom', err: { message: 'm', stack: 'Error: m\n  at f' } });
    expect(prettyLine(line)).toBe('09:05:07 ERROR boom\n    Error: m\n      at f\n');
  });

  it('passes a line that is not JSON through', () => {
    expect(prettyLine('plain text\n')).toBe('plain text\n');
  });
});

describe('tokenBanner', () => {
  it('frames the token alone on its line', () => {
    const lines = tokenBanner('fota_abc', 'Keep it.').split('\n');
    expect(lines).toEqual([
      '',
      'Keep it.',
      '',
      '╭────────────╮',
      '│            │',
      '│  fota_abc  │',
      '│            │',
      '╰────────────╯',
      '',
      '',
    ]);
  });
});

describe('createServeOutput', () => {
  it('writes JSON lines as they are and readable lines when pretty, to a file it is given', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fota-log-')), 'out');
    const fd = openSync(file, 'w');
    const json = createServeOutput('json', fd);
    const pretty = createServeOutput('pretty', fd);
    const line = `${JSON.stringify({ level: 30, time: at, msg: 'hello' })}\n`;
    json.stream.write(line);
    pretty.stream.write(line);
    pretty.print('banner\n');
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe(`${line}09:05:07 INFO  hello\nbanner\n`);
    expect([json.format, pretty.format, createServeOutput('auto', fd).format]).toEqual(['json', 'pretty', 'json']);
  });

  it('stops writing, without throwing, once the descriptor fails', () => {
    const output = createServeOutput('json', 987_654);
    expect(() => output.stream.write('{}\n')).not.toThrow();
    expect(() => output.print('more\n')).not.toThrow();
  });
});
