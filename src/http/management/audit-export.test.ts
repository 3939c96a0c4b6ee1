import { describe, expect, it } from 'vitest';
import { boundedRecord, type AuditRecord } from '../../domain/audit/entry.js';
import { csvField, csvRow } from './audit-export.js';

const record: AuditRecord = {
  at: new Date('2026-12-01T10:00:00.000Z'),
  actor: {
    type: 'token',
    userId: 'Uada',
    name: 'ada@example.com',
    role: 'admin',
    token: { id: 'Tci', name: '=cmd|x' },
  },
  address: '::ffff:192.0.2.1',
  kind: 'user.update',
  target: { type: 'user', id: 'Ubob' },
  result: { outcome: 'failure', status: 409, code: 'in_use' },
  details: { role: 'viewer', passwordChanged: false },
};

describe('the CSV export', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rlf', '"cr\rlf"'],
    [' padded', '" padded"'],
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['=a,"b"', `"'=a,""b"""`],
    ['', ''],
  ])('writes %j as %s', (value, field) => {
    expect(csvField(value)).toBe(field);
  });

  it('leaves numbers and empty values as they are', () => {
    expect(csvField(-5)).toBe('-5');
    expect(csvField(null)).toBe('');
  });

  it('writes one line per entry, details as JSON', () => {
    expect(csvRow({ ...record, id: 7 })).toBe(
      `7,2026-12-01T10:00:00.000Z,token,ada@example.com,Uada,admin,Tci,'=cmd|x,::ffff:192.0.2.1,user.update,user,Ubob,failure,409,in_use,"{""role"":""viewer"",""passwordChanged"":false}"\r\n`,
    );
  });
});

describe('an entry', () => {
  it('stays within its limits whatever a client sent', () => {
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, n) => [`k${n}`, 'v'.repeat(1000)]));
    const bounded = boundedRecord({
      ...record,
      kind: 'k'.repeat(200),
      target: { type: 't'.repeat(100), id: 'i'.repeat(1000) },
      details: { ...many, infinite: Number.POSITIVE_INFINITY },
    });
    expect(bounded.kind).toHaveLength(64);
    expect(bounded.target).toEqual({ type: `${'t'.repeat(31)}…`, id: `${'i'.repeat(255)}…` });
    expect(Object.keys(bounded.details)).toHaveLength(16);
    expect(bounded.details['k0']).toHaveLength(256);
    expect(boundedRecord({ ...record, details: { infinite: Number.POSITIVE_INFINITY } }).details).toEqual({
      infinite: null,
    });
  });
});
