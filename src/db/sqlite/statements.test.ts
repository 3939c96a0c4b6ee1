import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepingStatements } from './open.js';

let raw: Database.Database;

beforeEach(() => {
  raw = new Database(':memory:');
  raw.exec('create table t (id integer primary key, v text)');
  raw.prepare('insert into t (v) values (?), (?), (?)').run('a', 'b', 'c');
});
afterEach(() => raw.close());

describe('keepingStatements', () => {
  it('hands out the same prepared statement for the same SQL, with fresh parameters each time', () => {
    const database = keepingStatements(raw);
    const first = database.prepare('select v from t where id = ?');
    const second = database.prepare('select v from t where id = ?');
    expect(second).toBe(first);
    expect(first.all([1])).toEqual([{ v: 'a' }]);
    expect(second.all([3])).toEqual([{ v: 'c' }]);
    expect(database.prepare('select v from t where id = ? ')).not.toBe(first);
  });

  it('does not share a statement that an open iterator still uses', () => {
    const database = keepingStatements(raw);
    const streaming = database.prepare('select v from t order by id');
    const rows = streaming.iterate([]);
    expect(rows.next().value).toEqual({ v: 'a' });
    const other = database.prepare('select v from t order by id');
    expect(other).not.toBe(streaming);
    expect(other.all([])).toHaveLength(3);
    expect([...rows]).toEqual([{ v: 'b' }, { v: 'c' }]);
  });

  it('keeps at most 256 statements, dropping the least recently used', () => {
    const database = keepingStatements(raw);
    const oldest = database.prepare('select 0');
    const recent = database.prepare('select 1');
    for (let i = 2; i < 256; i++) database.prepare(`select ${i}`);
    expect(database.prepare('select 0')).toBe(oldest);
    database.prepare('select 256'); // the 257th: drops "select 1", used least recently
    expect(database.prepare('select 0')).toBe(oldest);
    expect(database.prepare('select 1')).not.toBe(recent);
  });

  it('closes the database', () => {
    keepingStatements(raw).close();
    expect(raw.open).toBe(false);
    raw = new Database(':memory:');
  });
});
