import type { Readable } from 'node:stream';
import type {
  ApiToken,
  ChannelValue,
  Device,
  Firmware,
  FirmwareSignature,
  Prototype,
  Role,
  SigningKey,
  User,
} from './model.js';
import type { AuditEntry, AuditQuery, AuditRecord } from './audit/entry.js';
import type { DevicePush, PushRecord, PushStatus, PushSummary, PushTarget, PushTransition } from './push.js';

/** One repository per aggregate. Drivers translate their own errors into DomainError codes. */
export interface PrototypeRepository {
  insert(prototype: Prototype): Promise<void>;
  get(id: string): Promise<Prototype | undefined>;
  list(): Promise<Prototype[]>;
  update(prototype: Prototype): Promise<void>;
  /** Deletes the prototype with its devices and firmwares. */
  delete(id: string): Promise<void>;
}

export interface DeviceRepository {
  insert(device: Device): Promise<void>;
  get(id: string): Promise<Device | undefined>;
  listByPrototype(prototypeId: string): Promise<Device[]>;
  update(device: Device): Promise<void>;
  delete(id: string): Promise<void>;
  /** Ids of the devices whose reported firmware is this one. */
  listRunning(firmwareId: string): Promise<string[]>;
  /** The devices among `ids` that exist, in any order. */
  getMany(ids: readonly string[]): Promise<Device[]>;
}

export interface FirmwareRepository {
  /**
   * Inserts the firmware atomically with a check over the prototype's firmwares as they are at that
   * moment: `check` throws to refuse (duplicate version, version not higher), or returns a firmware
   * already stored that this one repeats; either way nothing is written. Returns the firmware stored.
   */
  insert(firmware: Firmware, check: (existing: readonly Firmware[]) => Firmware | undefined): Promise<Firmware>;
  get(id: string): Promise<Firmware | undefined>;
  listByPrototype(prototypeId: string): Promise<Firmware[]>;
  /**
   * The same firmwares as one shared, frozen list: the same array on every call until a firmware of
   * the prototype is written, then a new one. Do not change its firmwares; answers derived from the
   * list may be kept while it is the one handed out (keyed on the array, e.g. in a WeakMap).
   */
  sharedListByPrototype(prototypeId: string): Promise<readonly Firmware[]>;
  findByVersion(prototypeId: string, version: string): Promise<Firmware | undefined>;
  update(firmware: Firmware): Promise<void>;
  delete(id: string): Promise<void>;
  /** Ids of the firmwares that list this one as a prerequisite. */
  listDependents(firmwareId: string): Promise<string[]>;
  /** How many firmwares, in any prototype, are stored as this blob. */
  countBySha256(sha256: string): Promise<number>;
}

/** A user with the hash of their password (`scrypt$N$r$p$salt$hash`, base64url). */
export interface StoredUser extends User {
  readonly passwordHash: string;
}

/** A session as stored: the SHA-256 of its cookie value (hex), and its user (undefined: built-in admin). */
export interface StoredSession {
  readonly tokenHash: string;
  readonly userId: string | undefined;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** Users, their sessions and API tokens. Writes that could remove the last admin are refused atomically. */
export interface AccountRepository {
  /** Refuses a taken email with `duplicate`. */
  insertUser(user: StoredUser): Promise<void>;
  getUser(id: string): Promise<StoredUser | undefined>;
  findUserByEmail(email: string): Promise<StoredUser | undefined>;
  listUsers(): Promise<User[]>;
  /** Writes the user unless that leaves no admin user: then answers false and writes nothing. */
  updateUser(user: StoredUser): Promise<boolean>;
  /** Deletes the user with their sessions and tokens unless they are the last admin: then answers false. */
  deleteUser(id: string): Promise<boolean>;

  insertSession(session: StoredSession): Promise<void>;
  getSession(tokenHash: string): Promise<StoredSession | undefined>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Every session of a user but `except` (the one that changed the password keeps going). */
  deleteSessionsOf(userId: string, except?: string): Promise<void>;
  deleteExpiredSessions(now: Date): Promise<number>;

  insertToken(token: ApiToken, tokenHash: string): Promise<void>;
  /** The token with that hash and its owner's current role (admin for the built-in administrator). */
  findToken(tokenHash: string): Promise<{ token: ApiToken; ownerRole: Role; ownerName: string } | undefined>;
  getToken(id: string): Promise<ApiToken | undefined>;
  /** Of one user (undefined: the built-in administrator's), or every token when `all`. */
  listTokens(owner: { readonly userId: string | undefined } | 'all'): Promise<ApiToken[]>;
  deleteToken(id: string): Promise<void>;
  touchToken(id: string, at: Date): Promise<void>;
}

/** Each prototype's signing keys and each firmware's signed manifests. */
export interface SigningRepository {
  /**
   * Stores the key as its prototype's current one and retires the key current until then (at the
   * new key's `createdAt`), in one transaction; `duplicate` when the prototype has this key already.
   */
  insertCurrentKey(key: SigningKey): Promise<void>;
  /** Newest first. */
  listKeys(prototypeId: string): Promise<SigningKey[]>;
  getKey(prototypeId: string, keyId: string): Promise<SigningKey | undefined>;
  currentKey(prototypeId: string): Promise<SigningKey | undefined>;
  /** Stores a signature, replacing the firmware's earlier one by the same key. */
  putSignature(signature: FirmwareSignature): Promise<void>;
  /** A firmware's signatures, the newest first (the one served). */
  signaturesOf(firmwareId: string): Promise<FirmwareSignature[]>;
  /** The newest signature of each firmware of a prototype that has one. */
  newestSignatures(prototypeId: string): Promise<FirmwareSignature[]>;
}

/** Small named values the service keeps, such as the admin token's hash. */
export interface SettingsRepository {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/** Bytes hashed and made durable in a temporary place, not yet visible under their key. */
export interface StagedBlob {
  /** The key the blob will have: its SHA-256 in lowercase hex. */
  readonly sha256: string;
  readonly md5: string;
  readonly size: number;
}

export interface ByteRange {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, inclusive. */
  readonly end: number;
}

/**
 * Firmware bytes, addressed by content. `stage` hashes while it streams and makes the bytes durable
 * in a temporary place; a failed or aborted `stage` leaves nothing behind. `commit` moves them under
 * their key, `discard` drops what was not committed.
 */
export interface BlobStore {
  /** Fails with `too_large` past `maxBytes`. */
  stage(source: Readable, options: { readonly maxBytes: number }): Promise<StagedBlob>;
  /** Resolves true when the blob is new, false when the same bytes were stored already. */
  commit(staged: StagedBlob): Promise<boolean>;
  discard(staged: StagedBlob): Promise<void>;
  get(sha256: string, range?: ByteRange): Promise<Readable>;
  /** Size in bytes, or undefined when there is no such blob. */
  stat(sha256: string): Promise<number | undefined>;
  delete(sha256: string): Promise<void>;
  /** Every stored blob with when it was stored, to find blobs that no firmware refers to any more. */
  entries(): AsyncIterable<StoredBlob>;
}

/** A committed blob as the store lists it. */
export interface StoredBlob {
  readonly sha256: string;
  /** When the store last wrote it (file modification time, S3 LastModified). */
  readonly storedAt: Date;
}

export interface Clock {
  now(): Date;
}

/** The last value of each data channel of each device. */
export interface ChannelValueRepository {
  /** Keeps each value unless the channel already holds a newer one. */
  upsert(deviceId: string, values: readonly ChannelValue[]): Promise<void>;
  list(deviceId: string): Promise<ChannelValue[]>;
  listByPrototype(prototypeId: string): Promise<Map<string, ChannelValue[]>>;
}

/** A target with the firmware of its push. */
export type ActiveTarget = PushTarget & { readonly firmwareId: string; readonly version: string };

/** A target as a push is created: its first status, and the hash of its download token if it will be sent. */
export interface NewTarget {
  readonly deviceId: string;
  readonly status: PushStatus;
  readonly reason: string | undefined;
  readonly deadline: Date | undefined;
  readonly tokenHash: string | undefined;
}

export interface TargetQuery {
  readonly status?: PushStatus | undefined;
  /** Targets after this device id, in device id order. */
  readonly after?: string | undefined;
  readonly limit: number;
}

/**
 * Pushes and their targets. Targets move by compare-and-set so concurrent updates cannot skip a
 * state, and writes are set-based: one statement per batch, never one per target.
 */
export interface PushRepository {
  /** The push, its targets and their first transitions, in one transaction. */
  insert(push: PushRecord, targets: readonly NewTarget[], at: Date): Promise<void>;
  /** The push with its counts per status. */
  summary(id: string): Promise<PushSummary | undefined>;
  listByFirmware(firmwareId: string): Promise<PushSummary[]>;
  /** Pushes that include the device, newest first, each with that device's target and its history. */
  listByDevice(deviceId: string): Promise<DevicePush[]>;
  /** A page of a push's targets in device id order, each with its history. */
  targets(pushId: string, query: TargetQuery): Promise<PushTarget[]>;
  /** The targets of these devices in an active status, oldest push first (history left empty). */
  activeTargets(deviceIds: readonly string[]): Promise<ActiveTarget[]>;
  /** The push's targets still `queued`, after a device id, in device id order (history left empty). */
  queuedTargets(pushId: string, after: string | undefined, limit: number): Promise<ActiveTarget[]>;
  /** One target as it is now (history left empty). */
  getTarget(pushId: string, deviceId: string): Promise<ActiveTarget | undefined>;
  /** The target whose download token hashes to this (history left empty). */
  targetByToken(tokenHash: string): Promise<ActiveTarget | undefined>;
  /** Active targets whose deadline passed, at most `limit` (history left empty). */
  overdueTargets(now: Date, limit: number): Promise<ActiveTarget[]>;
  /** Devices with a target still `queued`, to deliver it when they connect. */
  devicesWithQueued(): Promise<string[]>;
  /**
   * Moves each target from `from` to `to` in one transaction, records each transition, and sets
   * the deadline (and the token hash when given); the answer says, move by move, whether the target
   * was still in `from`.
   */
  moveTargets(moves: readonly TargetMove[]): Promise<boolean[]>;
  /**
   * Ids of finished pushes (no target in an active status), oldest first, at most `limit`: those
   * created before `createdBefore`, and those not among the `keepNewest` newest pushes.
   */
  finishedPushes(select: FinishedPushSelection): Promise<string[]>;
  /**
   * Deletes at most `limit` rows of a finished push, its transitions first, then its targets, then
   * the push itself; answers how many rows went (0: nothing was left). A target still active is
   * never deleted, nor a push that still has targets.
   */
  purgePush(pushId: string, limit: number): Promise<number>;
}

export interface FinishedPushSelection {
  readonly createdBefore: Date | undefined;
  readonly keepNewest: number | undefined;
  readonly limit: number;
}

/** The audit log: appended to, read newest first, and trimmed by age or count in small batches. */
export interface AuditLog {
  append(record: AuditRecord): Promise<AuditEntry>;
  /** Newest first (time, then id), filtered; `after` pages on. */
  list(query: AuditQuery): Promise<AuditEntry[]>;
  /** Deletes at most `limit` of the oldest entries written before `before`; answers how many. */
  purgeOlderThan(before: Date, limit: number): Promise<number>;
  /** Deletes at most `limit` of the oldest entries past the `keep` newest; answers how many. */
  purgeBeyond(keep: number, limit: number): Promise<number>;
}

export interface TargetMove {
  readonly pushId: string;
  readonly deviceId: string;
  readonly from: PushStatus;
  readonly to: PushTransition;
  readonly deadline: Date | undefined;
  /** A new download token's hash, for a queued target sent when its device connects. */
  readonly tokenHash?: string | undefined;
}
