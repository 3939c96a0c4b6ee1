import { CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type TransactionSettings } from 'kysely';

/**
 * The SQLite dialect with every transaction that may write begun with `BEGIN IMMEDIATE`. Several
 * processes write one file under `fota serve --workers`: a transaction begun with a plain (deferred)
 * BEGIN reads a snapshot, and when another process commits before its first write, that write
 * fails with SQLITE_BUSY_SNAPSHOT at once, which no busy_timeout cures. IMMEDIATE takes the write
 * lock up front, so a second writer waits (busy_timeout) and then reads what the first wrote.
 * A transaction asked for `read only` keeps the deferred BEGIN and locks nothing; queries outside
 * transactions are untouched.
 */
export function immediateTransactions(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => withImmediateBegin(dialect.createDriver()),
  };
}

const BEGIN_IMMEDIATE = CompiledQuery.raw('begin immediate');

function withImmediateBegin(driver: Driver): Driver {
  return {
    init: () => driver.init(),
    acquireConnection: () => driver.acquireConnection(),
    async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
      if (settings.accessMode === 'read only') return driver.beginTransaction(connection, settings);
      await connection.executeQuery(BEGIN_IMMEDIATE);
    },
    commitTransaction: (connection) => driver.commitTransaction(connection),
    rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
    savepoint: (connection, name, compile) => driver.savepoint!(connection, name, compile),
    rollbackToSavepoint: (connection, name, compile) => driver.rollbackToSavepoint!(connection, name, compile),
    releaseSavepoint: (connection, name, compile) => driver.releaseSavepoint!(connection, name, compile),
    releaseConnection: (connection) => driver.releaseConnection(connection),
    destroy: () => driver.destroy(),
  };
}
