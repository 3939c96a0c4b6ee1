/**
 * Run as `node --import tsx test/support/sqlite-read-then-write.ts <file>`: as another worker of
 * `fota serve --workers` would, opens the SQLite file, prints `ready`, and once a line comes on
 * its standard input runs one transaction that reads the counter and writes it plus one. Prints
 * `wrote <value>`, or `failed <code>` and exits 1.
 */
import { once } from 'node:events';
import { sql } from 'kysely';
import { openSqlite } from '../../src/db/sqlite/open.js';

const { db } = openSqlite(process.argv[2]!);
await sql`select 1`.execute(db);
process.stdout.write('ready\n');
await once(process.stdin, 'data');
process.stdin.destroy();
try {
  const value = await db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ value: number }>`select value from counter where id = 1`.execute(trx);
    const next = rows[0]!.value + 1;
    await sql`update counter set value = ${next} where id = 1`.execute(trx);
    return next;
  });
  process.stdout.write(`wrote ${value}`);
} catch (error) {
  const cause = (error as { cause?: { code?: string } }).cause;
  process.stdout.write(`failed ${cause?.code ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
