import { createHash } from 'node:crypto';
import type { Firmware } from './model.js';

/**
 * The signed firmware manifest: short lines of `name value`, in this fixed order, each ended by
 * one LF, so that a small MCU can check it without a JSON parser. The signed bytes are exactly the
 * bytes served at `<download URL>/manifest`; the detached signature (`<download URL>/manifest.sig`)
 * is one line, `ed25519 <key id> <signature in hex>`. The manifest names its key too (`key`), so a
 * manifest and a signature by different keys never pass together.
 */
export const MANIFEST_MAGIC = 'fota-manifest 1';

/** The lines after the first, in order. */
export const manifestFields = [
  'prototype',
  'firmware',
  'version',
  'size',
  'md5',
  'sha256',
  'prerequisites',
  'created',
  'key',
] as const;

/** A manifest or a signature larger than this is refused unread (a device has little memory). */
export const MAX_MANIFEST_BYTES = 2048;
export const MAX_SIGNATURE_BYTES = 256;

export interface Manifest {
  readonly prototypeId: string;
  readonly firmwareId: string;
  readonly version: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
  /** `all`, or firmware ids (the text `none` for an empty list). */
  readonly prerequisites: 'all' | readonly string[];
  /** ISO 8601, milliseconds, UTC. */
  readonly createdAt: string;
  readonly keyId: string;
}

/** The manifest's bytes for a firmware signed by this key. */
export function renderManifest(firmware: Firmware, keyId: string): string {
  const prerequisites =
    firmware.prerequisites === 'all'
      ? 'all'
      : firmware.prerequisites.length === 0
        ? 'none'
        : firmware.prerequisites.join(',');
  const values = [
    firmware.prototypeId,
    firmware.id,
    firmware.version,
    String(firmware.size),
    firmware.md5,
    firmware.sha256,
    prerequisites,
    firmware.createdAt.toISOString(),
    keyId,
  ];
  return [MANIFEST_MAGIC, ...manifestFields.map((name, i) => `${name} ${values[i]}`)].join('\n') + '\n';
}

/** A key's id: the first 16 hex digits of the SHA-256 of its 32 raw public key bytes. */
export function keyIdOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16);
}

/** The detached signature file's one line. */
export function renderSignature(keyId: string, signature: Uint8Array): string {
  return `ed25519 ${keyId} ${Buffer.from(signature).toString('hex')}\n`;
}

const KEY_ID = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const SIGNATURE_LINE = /^ed25519 ([0-9a-f]{16}) ([0-9a-f]{128})\n?$/;

/** Reads a signature line; undefined when it is not one. */
export function parseSignature(text: string): { keyId: string; signature: Buffer } | undefined {
  const match = SIGNATURE_LINE.exec(text);
  if (!match) return undefined;
  return { keyId: match[1]!, signature: Buffer.from(match[2]!, 'hex') };
}

/** Reads a manifest exactly as rendered; the answer is the problem in words when it is not one. */
export function parseManifest(text: string): Manifest | string {
  if (text.length > MAX_MANIFEST_BYTES) return `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`;
  if (!text.endsWith('\n')) return 'the manifest does not end with a line feed';
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== MANIFEST_MAGIC) return `the manifest does not start with "${MANIFEST_MAGIC}"`;
  if (lines.length !== manifestFields.length + 1) {
    return `the manifest has ${lines.length} lines, not ${manifestFields.length + 1}`;
  }
  const values: string[] = [];
  for (const [i, name] of manifestFields.entries()) {
    const line = lines[i + 1]!;
    if (!line.startsWith(`${name} `) || /[\s]/.test(line.slice(name.length + 1)) || line.length === name.length + 1) {
      return `line ${i + 2} of the manifest is not "${name} <value>"`;
    }
    values.push(line.slice(name.length + 1));
  }
  const [prototypeId, firmwareId, version, size, md5, sha256, prerequisites, createdAt, keyId] = values as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size)) return 'the manifest size is not a whole number';
  if (!HEX32.test(md5)) return 'the manifest md5 is not 32 lowercase hex digits';
  if (!HEX64.test(sha256)) return 'the manifest sha256 is not 64 lowercase hex digits';
  if (!KEY_ID.test(keyId)) return 'the manifest key is not a key id (16 lowercase hex digits)';
  return {
    prototypeId,
    firmwareId,
    version,
    size: Number(size),
    md5,
    sha256,
    prerequisites: prerequisites === 'all' ? 'all' : prerequisites === 'none' ? [] : prerequisites.split(','),
    createdAt,
    keyId,
  };
}
