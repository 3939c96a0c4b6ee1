import type { Generated } from 'kysely';

/**
 * The tables as Kysely sees them, on every engine: times are Unix milliseconds (`bigint`, which sorts
 * as time does and is what SQLite files of earlier versions hold), booleans are 0 or 1 (`integer`).
 */
export interface PrototypeTable {
  id: string;
  name: string;
  description: string;
  version_policy: string;
  /** `mcs` or `linkit7681` (migration 0005). */
  board: string;
  created_at: number;
}

export interface DeviceTable {
  id: string;
  prototype_id: string;
  device_key: string;
  name: string;
  description: string;
  reported_firmware_id: string | null;
  reported_version: string | null;
  reported_at: number | null;
  created_at: number;
}

export interface FirmwareTable {
  id: string;
  prototype_id: string;
  name: string;
  version: string;
  release_note: string;
  file_name: string;
  size: number;
  md5: string;
  sha256: string;
  prerequisites_all: number;
  created_at: number;
}

export interface FirmwarePrerequisiteTable {
  firmware_id: string;
  prerequisite_id: string;
}

export interface SettingTable {
  key: string;
  value: string;
}

export interface ChannelValueTable {
  device_id: string;
  channel_id: string;
  values_json: string;
  timestamp: number;
}

export interface PushTable {
  id: string;
  firmware_id: string;
  prototype_id: string;
  version: string;
  created_by: string;
  created_at: number;
  force: number;
  queue_offline: number;
  selection: Generated<string>;
}

export interface PushTargetTable {
  push_id: string;
  device_id: string;
  status: string;
  reason: string | null;
  updated_at: number;
  deadline_at: number | null;
  token_hash: string | null;
  /** The status the target started in; null for targets whose first transition is recorded instead. */
  first_status: string | null;
  first_reason: string | null;
}

export interface PushTransitionTable {
  id: Generated<number>;
  push_id: string;
  device_id: string;
  status: string;
  reason: string | null;
  at: number;
}

export interface UserTable {
  id: string;
  email: string;
  role: string;
  password_hash: string;
  created_at: number;
}

export interface SessionTable {
  token_hash: string;
  user_id: string | null;
  created_at: number;
  expires_at: number;
}

export interface ApiTokenTable {
  id: string;
  token_hash: string;
  user_id: string | null;
  name: string;
  role: string;
  created_at: number;
  last_used_at: number | null;
}

export interface AuditEntryTable {
  id: Generated<number>;
  at: number;
  /** `admin`, `user`, `token` or `anonymous`. */
  actor_type: string;
  actor_user_id: string | null;
  actor_name: string | null;
  actor_role: string | null;
  token_id: string | null;
  token_name: string | null;
  address: string;
  kind: string;
  target_type: string | null;
  target_id: string | null;
  /** `success` or `failure`. */
  outcome: string;
  status: number;
  error_code: string | null;
  details_json: string;
}

/** A prototype's Ed25519 key (migration 0006); the current one has no `retired_at`. */
export interface SigningKeyTable {
  prototype_id: string;
  key_id: string;
  /** 32 raw bytes in hex. */
  public_key: string;
  /** AES-256-GCM under the key-encryption key; null for a key whose owner signs with the CLI. */
  sealed_private_key: string | null;
  created_at: number;
  retired_at: number | null;
}

/** A firmware's manifest as one key signed it (migration 0006). */
export interface FirmwareSignatureTable {
  firmware_id: string;
  key_id: string;
  manifest: string;
  signature: string;
  signed_at: number;
}

export interface Tables {
  prototypes: PrototypeTable;
  devices: DeviceTable;
  firmwares: FirmwareTable;
  firmware_prerequisites: FirmwarePrerequisiteTable;
  settings: SettingTable;
  channel_values: ChannelValueTable;
  pushes: PushTable;
  push_targets: PushTargetTable;
  push_transitions: PushTransitionTable;
  users: UserTable;
  sessions: SessionTable;
  api_tokens: ApiTokenTable;
  audit_entries: AuditEntryTable;
  signing_keys: SigningKeyTable;
  firmware_signatures: FirmwareSignatureTable;
  webhook_subscriptions: WebhookSubscriptionTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
}

/** Migration 0007. `events` is a JSON array of event types; `enabled` 0 or 1. */
export interface WebhookSubscriptionTable {
  id: string;
  url: string;
  description: string;
  events: string;
  secret: string;
  enabled: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** One event for one subscription; `next_attempt_at` is also the end of a claim's lease. */
export interface WebhookDeliveryTable {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  body: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  lease_token: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface WebhookAttemptTable {
  id: Generated<number>;
  delivery_id: string;
  attempt: number;
  at: number;
  duration_ms: number;
  http_status: number | null;
  error: string | null;
  response_excerpt: string | null;
}
