/** The domain's records. Plain data: no transport or storage types appear here. */

export type VersionPolicy = 'any' | 'increasing';
export const versionPolicies: readonly VersionPolicy[] = ['any', 'increasing'];

/**
 * What boards a prototype's devices are: `mcs` boards speak the MCS protocols (HTTP, TCP, MQTT);
 * `linkit7681` boards (LinkIt Connect 7681) speak their own encrypted protocol, only take higher
 * versions, and carry versions as two bytes (see linkit7681-version.ts).
 */
export type Board = 'mcs' | 'linkit7681';
export const boards: readonly Board[] = ['mcs', 'linkit7681'];

export interface Prototype {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly versionPolicy: VersionPolicy;
  readonly board: Board;
  readonly createdAt: Date;
}

/** The firmware a device said it runs, through the MCS "report firmware" call. */
export interface ReportedFirmware {
  /** Undefined once that firmware was deleted with `force`. */
  readonly firmwareId: string | undefined;
  readonly version: string;
  readonly reportedAt: Date;
}

export interface Device {
  readonly id: string;
  readonly prototypeId: string;
  readonly key: string;
  readonly name: string;
  readonly description: string;
  readonly reported: ReportedFirmware | undefined;
  readonly createdAt: Date;
}

/** `all`, or the ids of the firmwares a device must run to be offered this one. */
export type Prerequisites = 'all' | readonly string[];

export interface Firmware {
  readonly id: string;
  readonly prototypeId: string;
  readonly name: string;
  readonly version: string;
  readonly releaseNote: string;
  readonly fileName: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
  readonly prerequisites: Prerequisites;
  readonly createdAt: Date;
}

/** What a person or an API token may do, each role including the ones before it. */
export const roles = ['viewer', 'developer', 'admin'] as const;
export type Role = (typeof roles)[number];

/**
 * Who is asking. Every service method receives one and checks it. `admin` is the administrator
 * token (`FOTA_ADMIN_TOKEN`, or a session opened with it); `user` a person's session or an API
 * token, acting with a role; `device` a device's key.
 */
export type Actor =
  | { readonly kind: 'admin' }
  | {
      readonly kind: 'user';
      readonly role: Role;
      /** Undefined for the built-in administrator (a token created by a session opened with the admin token). */
      readonly userId: string | undefined;
      /** The user's email, or `admin`: who pushes record as their creator. */
      readonly name: string;
      /** The API token the request came with; undefined for a session. */
      readonly token?: { readonly id: string; readonly name: string } | undefined;
    }
  | { readonly kind: 'device'; readonly deviceId: string; readonly prototypeId: string };

/** A person who signs in to the console. The password hash never leaves the accounts service. */
export interface User {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
  readonly createdAt: Date;
}

/** An API token as listed: the token itself is shown once, at creation, and stored hashed. */
export interface ApiToken {
  readonly id: string;
  /** Undefined for a token of the built-in administrator. */
  readonly userId: string | undefined;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | undefined;
}

/** The ways a device holds a live connection for commands, each a transport started by the composition root. */
export const protocols = ['tcp', 'mqtt', 'linkit7681'] as const;
export type Protocol = (typeof protocols)[number];

export interface Presence {
  readonly online: boolean;
  /** The protocol of the newest live connection; undefined while offline and never seen. */
  readonly protocol: Protocol | undefined;
  /** When the device came online, or went offline. */
  readonly since: Date | undefined;
  /** The last heartbeat, message or connection of the device. */
  readonly lastSeen: Date | undefined;
}

/** A data point a device uploaded (HTTP, MQTT): a channel, a time and one or more values. */
export interface DataPoint {
  readonly channelId: string;
  /** Unix milliseconds; undefined means "server time". */
  readonly timestamp: number | undefined;
  /** `value`, or for GPS channels `latitude`, `longitude`, `altitude`. */
  readonly values: Readonly<Record<string, string>>;
}

/** The last value the server keeps for each channel of a device. */
export interface ChannelValue {
  readonly channelId: string;
  readonly values: Readonly<Record<string, string>>;
  readonly timestamp: Date;
}

/**
 * A FOTA command in no transport's format: the push it belongs to and what the device needs to
 * fetch and check the firmware. Each transport formats it its own way (the MCS line and payload).
 */
export interface FotaCommand {
  readonly kind: 'fota';
  readonly pushId: string;
  readonly firmwareId: string;
  /** Unix milliseconds, 13 digits. */
  readonly timestamp: number;
  readonly version: string;
  readonly size: number;
  /** Lowercase hex. */
  readonly md5: string;
  readonly sha256: string;
  /** Where this device downloads it; the URL names this device's part in the push. */
  readonly url: string;
}

/** What the server can ask of a connected device. */
export type DeviceCommand = FotaCommand;

/**
 * One of a prototype's Ed25519 signing keys. The newest is current (no `retiredAt`); retired keys
 * stay listed so the manifests they signed still verify.
 */
export interface SigningKey {
  /** The first 16 hex digits of the SHA-256 of the public key. */
  readonly id: string;
  readonly prototypeId: string;
  /** 32 raw bytes in hex. */
  readonly publicKey: string;
  /** The private key sealed with the key-encryption key; undefined: the key's owner signs with the CLI. */
  readonly sealedPrivateKey: string | undefined;
  readonly createdAt: Date;
  readonly retiredAt: Date | undefined;
}

/** A firmware's manifest as one key signed it: the exact bytes served, and the signature line. */
export interface FirmwareSignature {
  readonly firmwareId: string;
  readonly keyId: string;
  readonly manifest: string;
  /** `ed25519 <key id> <signature in hex>`. */
  readonly signature: string;
  readonly signedAt: Date;
}
