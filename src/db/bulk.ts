import { CompiledQuery, type Kysely } from 'kysely';
import type { Engine } from './database.js';

/**
 * Rows per statement: 500 rows of up to 9 columns stay far below the parameters one statement may
 * bind (SQLite 32,766, PostgreSQL 65,535).
 */
export const BULK_ROWS = 500;

/** What the statements below need of the engine. */
type Parameters = Pick<Engine, 'name' | 'parameter'>;

/** Statement texts by engine and shape, so that the same shape is one prepared statement (see sqlite/open.ts). */
const texts = new Map<string, string>();

/** `count` parameters from position `from`, separated by commas. */
const placeholders = (engine: Parameters, from: number, count: number): string =>
  Array.from({ length: count }, (_, index) => engine.parameter(from + index)).join(', ');

function textOf(key: string, build: () => string): string {
  let text = texts.get(key);
  if (text === undefined) {
    text = build();
    texts.set(key, text);
  }
  return text;
}

/**
 * Inserts rows with one multi-row statement per BULK_ROWS rows, its SQL text written once per shape
 * and its values passed as parameters. Kysely's query builder costs about as much per value as the
 * insert itself: large batches (a push's targets and transitions) go through here instead.
 * Between statements the event loop gets a turn.
 */
export async function insertRows(
  db: Kysely<any>,
  engine: Parameters,
  table: string,
  columns: readonly string[],
  rows: ReadonlyArray<readonly unknown[]>,
): Promise<void> {
  for (let start = 0; start < rows.length; start += BULK_ROWS) {
    // Between statements the event loop runs: heartbeats and pings are answered during a large
    // insert; other queries wait for its transaction, as they would anyway.
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    const part = rows.slice(start, start + BULK_ROWS);
    const text = textOf(
      `${engine.name} insert ${table} ${columns.join(',')} ${part.length}`,
      () =>
        `insert into "${table}" (${columns.map((column) => `"${column}"`).join(', ')}) values ${Array.from(
          { length: part.length },
          (_, index) => `(${placeholders(engine, 1 + index * columns.length, columns.length)})`,
        ).join(', ')}`,
    );
    await db.executeQuery(CompiledQuery.raw(text, part.flat()));
  }
}

/**
 * `update … set … where <fixed conditions> and <key> in (…) returning <key>`, for BULK_ROWS keys at a
 * time: the keys that matched come back, so a compare-and-set over many rows is one statement.
 */
export async function updateWhereIn(
  db: Kysely<any>,
  engine: Parameters,
  statement: {
    readonly table: string;
    readonly set: Readonly<Record<string, unknown>>;
    readonly where: Readonly<Record<string, unknown>>;
    readonly key: string;
  },
  keys: readonly string[],
): Promise<Set<string>> {
  const setColumns = Object.keys(statement.set);
  const whereColumns = Object.keys(statement.where);
  const matched = new Set<string>();
  for (let start = 0; start < keys.length; start += BULK_ROWS) {
    const part = keys.slice(start, start + BULK_ROWS);
    const text = textOf(
      `${engine.name} update ${statement.table} ${setColumns.join(',')} ${whereColumns.join(',')} ${statement.key} ${part.length}`,
      () => {
        let position = 0;
        const next = () => engine.parameter(++position);
        const set = setColumns.map((column) => `"${column}" = ${next()}`).join(', ');
        const where = whereColumns.map((column) => `"${column}" = ${next()}`).join(' and ');
        const keys = placeholders(engine, position + 1, part.length);
        return `update "${statement.table}" set ${set} where ${where} and "${statement.key}" in (${keys}) returning "${statement.key}"`;
      },
    );
    const parameters = [...Object.values(statement.set), ...Object.values(statement.where), ...part];
    const result = await db.executeQuery<Record<string, string>>(CompiledQuery.raw(text, parameters));
    for (const row of result.rows) matched.add(row[statement.key]!);
  }
  return matched;
}
