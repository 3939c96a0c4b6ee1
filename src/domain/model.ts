/** The domain's records. Plain data: no transport or storage types appear here. */

export type VersionPolicy = 'any' | 'increasing';
export const versionPolicies: readonly VersionPolicy[] = ['any', 'increasing'];

export interface Prototype {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly versionPolicy: VersionPolicy;
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

/** Who is asking. Every service method receives one and checks it. */
export type Actor =
  { readonly kind: 'admin' } | { readonly kind: 'device'; readonly deviceId: string; readonly prototypeId: string };
