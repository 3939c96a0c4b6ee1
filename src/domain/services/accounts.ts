import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { lowerRole, requireRole, roleIncludes, roleOf } from '../access.js';
import { DomainError, invalid, notFound } from '../errors.js';
import type { EventBus } from '../events.js';
import { randomAlphanumeric } from '../ids.js';
import { roles, type Actor, type ApiToken, type Role, type User } from '../model.js';
import type { AccountRepository, Clock, StoredUser } from '../ports.js';
import type { AdminTokens } from './admin-tokens.js';

export const MIN_PASSWORD_LENGTH = 10;
const MAX_PASSWORD_LENGTH = 1024;
const MAX_EMAIL_LENGTH = 254;
const MAX_TOKEN_NAME_LENGTH = 100;
/** Characters of a session's random cookie value (32 bytes in base64url); the admin's add a seal. */
const SECRET_LENGTH = 43;
/** `lastUsedAt` of a token is written at most this often. */
export const TOKEN_TOUCH_EVERY_MS = 60_000;

/** scrypt's cost: N = 2^14, r = 8, p = 1 (16 MiB, tens of milliseconds); stored with each hash. */
const SCRYPT = { N: 16_384, r: 8, p: 1, keyLength: 32 };

/** The user a session opened with the admin token acts as: not a row, and never listed. */
export const BUILT_IN_ADMIN = 'admin';

/** Who a session or sign-in answers about. */
export interface SessionUser extends User {
  /** The built-in administrator, signed in with the admin token. */
  readonly builtIn: boolean;
}

export interface SignedIn {
  readonly user: SessionUser;
  readonly actor: Actor;
  /** The cookie value: random, given to the browser once, stored only as its SHA-256. */
  readonly secret: string;
}

export interface UserInput {
  readonly email: string;
  readonly password: string;
  readonly role: string;
}

export interface UserPatch {
  readonly role?: string | undefined;
  readonly password?: string | undefined;
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/**
 * The CSRF token of a session: derived from the cookie value, which page scripts cannot read
 * (HttpOnly), so a page of another site can neither read nor compute it. Nothing more to store.
 */
export const csrfTokenOf = (secret: string): string =>
  createHash('sha256').update('fota csrf\0').update(secret).digest('base64url');

/**
 * The name of a session in `access.changed` events and logs: a hash of its cookie value, which
 * cannot be turned back into a cookie (nor into the stored hash, which has no label).
 */
export const sessionIdOf = (secret: string): string =>
  createHash('sha256').update('fota session id\0').update(secret).digest('base64url');

/** Users, sessions and API tokens of the management API. */
export class AccountService {
  /** A hash that matches no password, checked for an unknown email so both answers take as long. */
  private readonly decoy: Promise<string>;

  constructor(
    private readonly deps: {
      readonly accounts: AccountRepository;
      readonly adminTokens: Pick<AdminTokens, 'authenticate' | 'seal' | 'sealed'>;
      readonly clock: Clock;
      readonly sessionTtlMs: number;
      /** Where `access.changed` goes after each change of credentials; none: nobody listens. */
      readonly events?: Pick<EventBus, 'publish'> | undefined;
    },
  ) {
    this.decoy = hashPassword(randomBytes(16).toString('hex'));
    this.decoy.catch(() => undefined);
  }

  // Users.

  async createUser(actor: Actor, input: UserInput): Promise<User> {
    requireRole(actor, 'admin');
    const user: StoredUser = {
      id: `U${randomAlphanumeric(11)}`,
      email: requireEmail(input.email),
      role: requireRoleName(input.role),
      passwordHash: await hashPassword(requirePassword(input.password)),
      createdAt: this.deps.clock.now(),
    };
    await this.deps.accounts.insertUser(user);
    return publicUser(user);
  }

  async listUsers(actor: Actor): Promise<User[]> {
    requireRole(actor, 'admin');
    return this.deps.accounts.listUsers();
  }

  /** A new password ends every other session of the user. */
  async updateUser(actor: Actor, id: string, patch: UserPatch, currentSession?: string): Promise<User> {
    requireRole(actor, 'admin');
    const current = await this.requireUser(id);
    const updated: StoredUser = {
      ...current,
      role: patch.role === undefined ? current.role : requireRoleName(patch.role),
      passwordHash:
        patch.password === undefined ? current.passwordHash : await hashPassword(requirePassword(patch.password)),
    };
    if (!(await this.deps.accounts.updateUser(updated))) {
      throw new DomainError('in_use', `${current.email} is the last admin: make another user admin first`);
    }
    if (patch.password !== undefined) {
      const keep = currentSession === undefined ? undefined : sha256(currentSession);
      await this.deps.accounts.deleteSessionsOf(id, keep);
    }
    if (patch.role !== undefined || patch.password !== undefined) this.changed({ userId: id });
    return publicUser(updated);
  }

  /** Deletes the user with their sessions and API tokens, which stop working at once. */
  async deleteUser(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const user = await this.requireUser(id);
    if (!(await this.deps.accounts.deleteUser(id))) {
      throw new DomainError('in_use', `${user.email} is the last admin: make another user admin first`);
    }
    this.changed({ userId: id });
  }

  // Sessions.

  /** Opens a session; a wrong email and a wrong password are refused alike. */
  async signIn(email: string, password: string): Promise<SignedIn> {
    const user = await this.deps.accounts.findUserByEmail(normalizeEmail(email));
    const matches = await verifyPassword(password, user?.passwordHash ?? (await this.decoy));
    if (!user || !matches) throw new DomainError('unauthenticated', 'wrong email or password');
    return this.open(user.id, { ...publicUser(user), builtIn: false }, userActor(user.role, user));
  }

  /**
   * Opens a session of the built-in administrator with the admin token, for the very first admin.
   * Its cookie value carries the token's seal of its random part, so the session ends with the
   * token: after `fota admin reset-token`, or a start with another FOTA_ADMIN_TOKEN.
   */
  async signInWithAdminToken(token: string): Promise<SignedIn> {
    const actor = this.deps.adminTokens.authenticate(token);
    const now = this.deps.clock.now();
    return this.open(undefined, builtInUser(now), actor);
  }

  /** The session of a cookie value; an unknown or expired one is refused (and an expired one deleted). */
  async session(secret: string): Promise<{ user: SessionUser; actor: Actor; expiresAt: Date }> {
    const hash = sha256(secret);
    const session = await this.deps.accounts.getSession(hash);
    if (!session) throw new DomainError('unauthenticated', 'not signed in, or the session was closed');
    if (session.expiresAt.getTime() <= this.deps.clock.now().getTime()) {
      await this.deps.accounts.deleteSession(hash);
      throw new DomainError('unauthenticated', 'the session expired: sign in again');
    }
    if (session.userId === undefined) {
      const random = secret.slice(0, SECRET_LENGTH);
      if (!this.deps.adminTokens.sealed(random, secret.slice(SECRET_LENGTH))) {
        await this.deps.accounts.deleteSession(hash);
        throw new DomainError('unauthenticated', 'the admin token of this session was replaced: sign in again');
      }
      return { user: builtInUser(session.createdAt), actor: { kind: 'admin' }, expiresAt: session.expiresAt };
    }
    const user = await this.deps.accounts.getUser(session.userId);
    if (!user) throw new DomainError('unauthenticated', 'not signed in, or the session was closed');
    return {
      user: { ...publicUser(user), builtIn: false },
      actor: userActor(user.role, user),
      expiresAt: session.expiresAt,
    };
  }

  async signOut(secret: string): Promise<void> {
    await this.deps.accounts.deleteSession(sha256(secret));
    this.changed({ sessionId: sessionIdOf(secret) });
  }

  // API tokens.

  /** A new token with a role no higher than its creator's; `secret` is shown once and stored hashed. */
  async createToken(actor: Actor, input: { name: string; role: string }): Promise<{ token: ApiToken; secret: string }> {
    requireRole(actor, 'viewer');
    const mine = roleOf(actor)!;
    const role = requireRoleName(input.role);
    if (!roleIncludes(mine, role)) {
      throw new DomainError('forbidden', `a token's role may not be higher than yours (${mine})`);
    }
    const name = input.name.trim();
    if (name === '' || name.length > MAX_TOKEN_NAME_LENGTH) {
      throw invalid(`name must be 1 to ${MAX_TOKEN_NAME_LENGTH} characters`);
    }
    const secret = `fota_${randomBytes(32).toString('base64url')}`;
    const token: ApiToken = {
      id: `T${randomAlphanumeric(11)}`,
      userId: ownerOf(actor),
      name,
      role,
      createdAt: this.deps.clock.now(),
      lastUsedAt: undefined,
    };
    await this.deps.accounts.insertToken(token, sha256(secret));
    return { token, secret };
  }

  /** An admin's list holds every token; anyone else's their own. */
  async listTokens(actor: Actor): Promise<ApiToken[]> {
    requireRole(actor, 'viewer');
    return this.deps.accounts.listTokens(roleOf(actor) === 'admin' ? 'all' : { userId: ownerOf(actor) });
  }

  /** Revokes a token at once; one may revoke one's own tokens, an admin anyone's. */
  async revokeToken(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'viewer');
    const token = await this.deps.accounts.getToken(id);
    if (!token || (roleOf(actor) !== 'admin' && token.userId !== ownerOf(actor))) throw notFound(`no token ${id}`);
    await this.deps.accounts.deleteToken(id);
    this.changed({ tokenId: id });
  }

  /**
   * The actor of a bearer token, or undefined when it is no API token. It acts with its role, or
   * its owner's when that is now lower.
   */
  async authenticateToken(secret: string): Promise<Actor | undefined> {
    const found = await this.deps.accounts.findToken(sha256(secret));
    if (!found) return undefined;
    const { token, ownerRole, ownerName } = found;
    const now = this.deps.clock.now();
    if (token.lastUsedAt === undefined || now.getTime() - token.lastUsedAt.getTime() >= TOKEN_TOUCH_EVERY_MS) {
      await this.deps.accounts.touchToken(token.id, now);
    }
    return {
      kind: 'user',
      role: lowerRole(token.role, ownerRole),
      userId: token.userId,
      name: ownerName,
      token: { id: token.id, name: token.name },
    };
  }

  private async open(userId: string | undefined, user: SessionUser, actor: Actor): Promise<SignedIn> {
    const now = this.deps.clock.now();
    await this.deps.accounts.deleteExpiredSessions(now);
    const random = randomBytes(32).toString('base64url');
    const secret = userId === undefined ? random + this.deps.adminTokens.seal(random) : random;
    await this.deps.accounts.insertSession({
      tokenHash: sha256(secret),
      userId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.deps.sessionTtlMs),
    });
    return { user, actor, secret };
  }

  private changed(principal: { userId?: string; tokenId?: string; sessionId?: string }): void {
    this.deps.events?.publish({ type: 'access.changed', ...principal, at: this.deps.clock.now() });
  }

  private async requireUser(id: string): Promise<StoredUser> {
    const user = await this.deps.accounts.getUser(id);
    if (!user) throw notFound(`no user ${id}`);
    return user;
  }
}

const publicUser = ({ passwordHash: _, ...user }: StoredUser): User => user;

const builtInUser = (createdAt: Date): SessionUser => ({
  id: BUILT_IN_ADMIN,
  email: BUILT_IN_ADMIN,
  role: 'admin',
  createdAt,
  builtIn: true,
});

const userActor = (role: Role, user: StoredUser): Actor => ({ kind: 'user', role, userId: user.id, name: user.email });

/** The user a token created by `actor` belongs to; undefined for the built-in administrator. */
function ownerOf(actor: Actor): string | undefined {
  return actor.kind === 'user' ? actor.userId : undefined;
}

const normalizeEmail = (email: string): string => email.trim().toLowerCase();

function requireEmail(email: string): string {
  const normalized = normalizeEmail(email);
  if (normalized.length > MAX_EMAIL_LENGTH || !/^[^\s@]+@[^\s@]+$/.test(normalized)) {
    throw invalid(`email must be an address such as ada@example.com, of at most ${MAX_EMAIL_LENGTH} characters`);
  }
  return normalized;
}

function requirePassword(password: string): string {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw invalid(`password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
  }
  return password;
}

function requireRoleName(role: string): Role {
  if (!(roles as readonly string[]).includes(role)) throw invalid(`role must be one of ${roles.join(', ')}`);
  return role as Role;
}

const derive = (password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    scrypt(password, salt, keyLength, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64url: the parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT.keyLength, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length === 0) return false;
  // Parameters scrypt refuses (a damaged row) verify nothing, rather than failing the sign-in.
  const key = await derive(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  }).catch(() => undefined);
  return key !== undefined && timingSafeEqual(key, expected);
}
