import type { Kysely } from 'kysely';
import type { Engine } from '../database.js';

/**
 * People who sign in to the console, their sessions and the API tokens. Passwords are kept as
 * scrypt hashes, sessions and tokens as the SHA-256 of their random value: the database alone
 * opens no session and authenticates no request.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', engine.text, (c) => c.primaryKey())
    .addColumn('email', engine.text, (c) => c.notNull().unique())
    .addColumn('role', engine.text, (c) => c.notNull())
    .addColumn('password_hash', engine.text, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  // A null user is the built-in administrator: a session opened with the admin token.
  await db.schema
    .createTable('sessions')
    .addColumn('token_hash', engine.text, (c) => c.primaryKey())
    .addColumn('user_id', engine.text, (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
  await db.schema.createIndex('sessions_expiry').on('sessions').column('expires_at').execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', engine.text, (c) => c.primaryKey())
    .addColumn('token_hash', engine.text, (c) => c.notNull().unique())
    .addColumn('user_id', engine.text, (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('name', engine.text, (c) => c.notNull())
    .addColumn('role', engine.text, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();
}
