import type { ColumnDataType, ColumnDefinitionBuilder, Expression, Kysely } from 'kysely';
import type { Tables } from './schema.js';

export type Db = Kysely<Tables>;

/**
 * What differs between the database engines, given by each dialect folder (`sqlite/`,
 * `postgres/`): the repositories and migrations ask this, never which engine they run on.
 */
export interface Engine {
  /** The engine's name, for messages: `SQLite`, `PostgreSQL`. */
  readonly name: string;
  /** The most parameters one statement may bind (SQLite 32,766, PostgreSQL 65,535). */
  readonly maxParameters: number;
  /** The text of the parameter at this position, from 1, in SQL written by hand (`?`, `$1`). */
  parameter(position: number): string;
  /**
   * The column type of text that compares and sorts byte by byte, the same on every engine:
   * ids are mixed-case, and a cursor (`device_id > ?`) must page through them in the same order.
   */
  readonly text: ColumnDataType | Expression<unknown>;
  /** A whole-number key the database numbers itself, in insertion order. */
  readonly serial: {
    readonly type: ColumnDataType | Expression<unknown>;
    modify(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  };
  /** The server's version, for `fota doctor`. */
  version(db: Db): Promise<string>;
}

/** An open database: the query builder, its engine, and where it is in words (never a password). */
export interface Database {
  readonly db: Db;
  readonly engine: Engine;
  readonly location: string;
}
