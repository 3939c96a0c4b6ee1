import type { ApiToken, Role, User } from '../../domain/model.js';
import type { AccountRepository, StoredSession, StoredUser } from '../../domain/ports.js';
import type { Db } from '../database.js';
import { duplicateAs } from '../errors.js';
import type { ApiTokenTable, UserTable } from '../schema.js';

/** Users, sessions and API tokens, on any engine. */
export class SqlAccountRepository implements AccountRepository {
  constructor(private readonly db: Db) {}

  async insertUser(user: StoredUser): Promise<void> {
    try {
      await this.db.insertInto('users').values(userRow(user)).execute();
    } catch (error) {
      throw duplicateAs(error, `a user with email ${user.email} exists already`);
    }
  }

  async getUser(id: string): Promise<StoredUser | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromUserRow(row);
  }

  async findUserByEmail(email: string): Promise<StoredUser | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row && fromUserRow(row);
  }

  async listUsers(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map((row) => {
      const { passwordHash: _, ...user } = fromUserRow(row);
      return user;
    });
  }

  async updateUser(user: StoredUser): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('users').select('role').where('id', '=', user.id).executeTakeFirst();
      if (current?.role === 'admin' && user.role !== 'admin' && (await countAdmins(trx)) <= 1) return false;
      const { id, ...values } = userRow(user);
      await trx.updateTable('users').set(values).where('id', '=', id).execute();
      return true;
    });
  }

  async deleteUser(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select('role').where('id', '=', id).executeTakeFirst();
      if (user?.role === 'admin' && (await countAdmins(trx)) <= 1) return false;
      await trx.deleteFrom('sessions').where('user_id', '=', id).execute();
      await trx.deleteFrom('api_tokens').where('user_id', '=', id).execute();
      await trx.deleteFrom('users').where('id', '=', id).execute();
      return true;
    });
  }

  async insertSession(session: StoredSession): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        token_hash: session.tokenHash,
        user_id: session.userId ?? null,
        created_at: session.createdAt.getTime(),
        expires_at: session.expiresAt.getTime(),
      })
      .execute();
  }

  async getSession(tokenHash: string): Promise<StoredSession | undefined> {
    const row = await this.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return (
      row && {
        tokenHash: row.token_hash,
        userId: row.user_id ?? undefined,
        createdAt: new Date(row.created_at),
        expiresAt: new Date(row.expires_at),
      }
    );
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
  }

  async deleteSessionsOf(userId: string, except?: string): Promise<void> {
    let query = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (except !== undefined) query = query.where('token_hash', '!=', except);
    await query.execute();
  }

  async deleteExpiredSessions(now: Date): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('expires_at', '<=', now.getTime()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async insertToken(token: ApiToken, tokenHash: string): Promise<void> {
    await this.db
      .insertInto('api_tokens')
      .values({
        id: token.id,
        token_hash: tokenHash,
        user_id: token.userId ?? null,
        name: token.name,
        role: token.role,
        created_at: token.createdAt.getTime(),
        last_used_at: token.lastUsedAt?.getTime() ?? null,
      })
      .execute();
  }

  async findToken(tokenHash: string): Promise<{ token: ApiToken; ownerRole: Role; ownerName: string } | undefined> {
    const row = await this.db
      .selectFrom('api_tokens')
      .leftJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('api_tokens')
      .select(['users.role as owner_role', 'users.email as owner_email'])
      .where('api_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!row) return undefined;
    // A token whose user is gone is deleted with them; a null user is the built-in administrator.
    if (row.user_id !== null && row.owner_role === null) return undefined;
    return {
      token: fromTokenRow(row),
      ownerRole: (row.owner_role ?? 'admin') as Role,
      ownerName: row.owner_email ?? 'admin',
    };
  }

  async getToken(id: string): Promise<ApiToken | undefined> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromTokenRow(row);
  }

  async listTokens(owner: { readonly userId: string | undefined } | 'all'): Promise<ApiToken[]> {
    let query = this.db.selectFrom('api_tokens').selectAll();
    if (owner !== 'all') {
      query =
        owner.userId === undefined ? query.where('user_id', 'is', null) : query.where('user_id', '=', owner.userId);
    }
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(fromTokenRow);
  }

  async deleteToken(id: string): Promise<void> {
    await this.db.deleteFrom('api_tokens').where('id', '=', id).execute();
  }

  async touchToken(id: string, at: Date): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: at.getTime() }).where('id', '=', id).execute();
  }
}

/**
 * The administrators, counted with their rows locked until the transaction ends: two changes at
 * once (on PostgreSQL, from two nodes) cannot each see another administrator left and together
 * leave none. The update changes nothing; it only takes the rows' write locks, which needs no
 * engine's own syntax (SQLite has no `for update`, and writes one at a time anyway).
 */
async function countAdmins(db: Pick<Db, 'selectFrom' | 'updateTable'>): Promise<number> {
  await db
    .updateTable('users')
    .set((eb) => ({ role: eb.ref('role') }))
    .where('role', '=', 'admin')
    .execute();
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('role', '=', 'admin')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

const userRow = (user: StoredUser): UserTable => ({
  id: user.id,
  email: user.email,
  role: user.role,
  password_hash: user.passwordHash,
  created_at: user.createdAt.getTime(),
});

const fromUserRow = (row: UserTable): StoredUser => ({
  id: row.id,
  email: row.email,
  role: row.role as Role,
  passwordHash: row.password_hash,
  createdAt: new Date(row.created_at),
});

const fromTokenRow = (row: ApiTokenTable): ApiToken => ({
  id: row.id,
  userId: row.user_id ?? undefined,
  name: row.name,
  role: row.role as Role,
  createdAt: new Date(row.created_at),
  lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at),
});
