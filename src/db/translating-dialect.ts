import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';

/** Turns one engine's error into a DomainError where it has one; anything else goes through unchanged. */
export type ErrorTranslation = (error: unknown) => unknown;

/**
 * The dialect with every error of its driver translated: queries, transactions and getting a
 * connection alike, so that a lost connection is 'unavailable' wherever it happens and a unique
 * key is 'duplicate' in every repository.
 */
export function translatingDialect(dialect: Dialect, translate: ErrorTranslation): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => new TranslatingDriver(dialect.createDriver(), translate),
  };
}

class TranslatingDriver implements Driver {
  /** The driver's own connection behind each one handed out. */
  private readonly inner = new WeakMap<DatabaseConnection, DatabaseConnection>();

  constructor(
    private readonly driver: Driver,
    private readonly translate: ErrorTranslation,
  ) {}

  init(): Promise<void> {
    return this.translating(() => this.driver.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.translating(() => this.driver.acquireConnection());
    const translate = this.translate;
    const outer: DatabaseConnection = {
      executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> =>
        this.translating(() => connection.executeQuery<R>(query)),
      async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
        try {
          yield* connection.streamQuery<R>(query, chunkSize);
        } catch (error) {
          throw translate(error);
        }
      },
    };
    this.inner.set(outer, connection);
    return outer;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.translating(() => this.driver.beginTransaction(this.own(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.translating(() => this.driver.commitTransaction(this.own(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.translating(() => this.driver.rollbackTransaction(this.own(connection)));
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.translating(() => this.driver.savepoint!(this.own(connection), name, compile));
  }

  rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return this.translating(() => this.driver.rollbackToSavepoint!(this.own(connection), name, compile));
  }

  releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return this.translating(() => this.driver.releaseSavepoint!(this.own(connection), name, compile));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const own = this.own(connection);
    this.inner.delete(connection);
    await this.driver.releaseConnection(own);
  }

  destroy(): Promise<void> {
    return this.driver.destroy();
  }

  private own(connection: DatabaseConnection): DatabaseConnection {
    const own = this.inner.get(connection);
    if (!own) throw new Error('a connection this driver did not hand out');
    return own;
  }

  private async translating<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.translate(error);
    }
  }
}
