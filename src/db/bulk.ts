import { CompiledQuery, type Kysely } from 'kysely';

/** Rows per statement: 500 rows of up to 8 columns stay far below SQLite's 32,766 variables. */
export const BULK_ROWS = 500;

/** Statement texts by shape, so that the same shape is one prepared statement (see database.ts). */
const texts = new Map<string, string>();

const placeholders = (count: number): string => Array.from({ length: count }, () => '?').join(', ');

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
  table: string,
  columns: readonly string[],
  rows: ReadonlyArray<readonly unknown[]>,
): Promise<void> {
  for (let start = 0; start < rows.length; start += BULK_ROWS) {
    // Between statements the event loop runs: heartbeats and pings are answered during a large
    // insert; other queries wait for its transaction, as they would anyway.
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    const part = rows.slice(start, start + BULK_ROWS);
    const row = `(${placeholders(columns.length)})`;
    const text = textOf(
      `insert ${table} ${columns.join(',')} ${part.length}`,
      () =>
        `insert into "${table}" (${columns.map((column) => `"${column}"`).join(', ')}) values ${Array.from({ length: part.length }, () => row).join(', ')}`,
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
      `update ${statement.table} ${setColumns.join(',')} ${whereColumns.join(',')} ${statement.key} ${part.length}`,
      () =>
        `update "${statement.table}" set ${setColumns.map((column) => `"${column}" = ?`).join(', ')} where ${whereColumns
          .map((column) => `"${column}" = ?`)
          .join(' and ')} and "${statement.key}" in (${placeholders(part.length)}) returning "${statement.key}"`,
    );
    const parameters = [...Object.values(statement.set), ...Object.values(statement.where), ...part];
    const result = await db.executeQuery<Record<string, string>>(CompiledQuery.raw(text, parameters));
    for (const row of result.rows) matched.add(row[statement.key]!);
  }
  return matched;
}
