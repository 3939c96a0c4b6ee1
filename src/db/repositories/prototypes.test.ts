import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Prototype } from '../../domain/model.js';
import type { Db } from '../database.js';
import { migrate } from '../migrate.js';
import { openSqlite } from '../sqlite/open.js';
import { SqlPrototypeRepository } from './prototypes.js';

let db: Db;
let repository: SqlPrototypeRepository;
const board: Prototype = {
  id: 'P00000000001',
  name: 'Board',
  description: '',
  versionPolicy: 'any',
  board: 'mcs',
  createdAt: new Date(1_700_000_000_000),
};

beforeEach(async () => {
  const database = openSqlite(':memory:');
  ({ db } = database);
  await migrate(database);
  repository = new SqlPrototypeRepository(db);
});
afterEach(async () => db.destroy());

describe('SqlPrototypeRepository, which keeps the prototypes it read', () => {
  it('answers a kept prototype until it is changed, then the change', async () => {
    await repository.insert(board);
    expect(await repository.get(board.id)).toEqual(board);
    await repository.update({ ...board, versionPolicy: 'increasing', name: 'Board 2' });
    expect(await repository.get(board.id)).toEqual({ ...board, versionPolicy: 'increasing', name: 'Board 2' });
  });

  it('forgets a deleted prototype', async () => {
    await repository.insert(board);
    expect(await repository.get(board.id)).toBeDefined();
    await repository.delete(board.id);
    expect(await repository.get(board.id)).toBeUndefined();
  });

  it('does not keep "not found": a prototype inserted after a miss is found', async () => {
    expect(await repository.get(board.id)).toBeUndefined();
    await repository.insert(board);
    expect(await repository.get(board.id)).toEqual(board);
  });

  it('does not leave behind what a read that raced an update saw', async () => {
    await repository.insert(board);
    const racing = repository.get(board.id);
    const updating = repository.update({ ...board, versionPolicy: 'increasing' });
    await Promise.all([racing, updating]);
    expect((await repository.get(board.id))?.versionPolicy).toBe('increasing');
  });

  it('hands out frozen prototypes, so that no caller changes the kept one', async () => {
    await repository.insert(board);
    expect(Object.isFrozen(await repository.get(board.id))).toBe(true);
  });
});
