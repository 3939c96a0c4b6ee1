import type { Readable } from 'node:stream';
import { actorName, requireRole } from '../access.js';
import { byVersion } from '../compatibility.js';
import { DomainError, invalid, notFound } from '../errors.js';
import type { EventBus } from '../events.js';
import { cleanFileName } from '../file-name.js';
import { newFirmwareId } from '../ids.js';
import type { Actor, Firmware, Prerequisites, VersionPolicy } from '../model.js';
import type { BlobStore, ByteRange, Clock, FirmwareRepository } from '../ports.js';
import { limits, requireText } from '../text.js';
import { requireBoardVersion } from '../linkit7681-version.js';
import { isHigherVersion, parseOrderedVersion, versionTextProblem } from '../version.js';
import type { FirmwareBlobs } from './firmware-blobs.js';
import type { PrototypeService } from './prototypes.js';

export interface FirmwareUpload {
  readonly name: string;
  readonly version: string;
  readonly releaseNote?: string | undefined;
  /** The console's "Check Sum": an MD5 in hex the uploaded bytes must have. */
  readonly checksum?: string | undefined;
  readonly prerequisites?: Prerequisites | undefined;
  readonly fileName?: string | undefined;
}

export interface FirmwarePatch {
  readonly name?: string | undefined;
  readonly releaseNote?: string | undefined;
  readonly prerequisites?: Prerequisites | undefined;
}

export class FirmwareService {
  constructor(
    private readonly deps: {
      readonly firmwares: FirmwareRepository;
      readonly prototypes: PrototypeService;
      readonly blobs: FirmwareBlobs;
      readonly blobStore: BlobStore;
      readonly clock: Clock;
      readonly maxFirmwareBytes: number;
      readonly listRunningDevices: (firmwareId: string) => Promise<string[]>;
      /** Runs once a new firmware is stored (signing it); its failure does not undo the upload. */
      readonly afterCreate?: ((firmware: Firmware) => Promise<void>) | undefined;
      /** Told of each firmware stored (`firmware.uploaded`), for webhooks. */
      readonly events?: EventBus;
    },
  ) {}

  /** Stores a firmware (see `store`) and returns it, whether stored now or by an earlier identical upload. */
  async upload(actor: Actor, prototypeId: string, upload: FirmwareUpload, file: Readable): Promise<Firmware> {
    return (await this.store(actor, prototypeId, upload, file)).firmware;
  }

  /**
   * Stores a firmware. Every check that does not need the bytes runs before they are read; the
   * bytes are hashed while they stream to a temporary blob, and the row is written only once the
   * blob is durable. Whatever fails, no row and no file is left. `beforeCommit` runs once the bytes
   * are staged and may still refuse (the HTTP adapter reads the rest of its form there).
   *
   * An upload that repeats a stored firmware (same version, same bytes, same name, release note,
   * prerequisites and file name) is a retry: it answers that firmware with `created: false` and
   * writes nothing. The same version with anything else different is a duplicate.
   */
  async store(
    actor: Actor,
    prototypeId: string,
    upload: FirmwareUpload,
    file: Readable,
    options: { readonly beforeCommit?: () => Promise<void> } = {},
  ): Promise<{ firmware: Firmware; created: boolean }> {
    requireRole(actor, 'developer');
    const prototype = await this.deps.prototypes.require(prototypeId);
    const name = requireText('name', upload.name, limits.name);
    const version = requireVersion(upload.version);
    if (prototype.board === 'linkit7681') requireBoardVersion(version);
    const releaseNote = requireText('releaseNote', upload.releaseNote ?? '', limits.releaseNote);
    const checksum =
      upload.checksum === undefined || upload.checksum.trim() === '' ? undefined : requireMd5(upload.checksum);
    const prerequisites = await this.requirePrerequisites(prototype.id, upload.prerequisites ?? 'all', undefined);
    const fileName = cleanFileName(upload.fileName);
    const described = { name, releaseNote, prerequisites, fileName };
    // Before the bytes: a stored firmware of this version is only acceptable as the same upload again.
    allowedOrRepeated(prototype.versionPolicy, await this.deps.firmwares.listByPrototype(prototype.id), {
      ...described,
      version,
      sha256: undefined,
    });

    const staged = await this.deps.blobs.stage(file, this.deps.maxFirmwareBytes);
    try {
      if (staged.size === 0) throw new DomainError('empty_file', 'the firmware file is empty');
      if (checksum !== undefined && checksum !== staged.md5) {
        throw new DomainError('checksum_mismatch', `checksum ${checksum} does not match the file's MD5 ${staged.md5}`);
      }
      await options.beforeCommit?.();
      const firmware: Firmware = {
        id: newFirmwareId(),
        prototypeId: prototype.id,
        name,
        version,
        releaseNote,
        fileName,
        size: staged.size,
        md5: staged.md5,
        sha256: staged.sha256,
        prerequisites,
        createdAt: this.deps.clock.now(),
      };
      const stored = await this.deps.blobs.commit(staged, () =>
        this.deps.firmwares.insert(firmware, (existing) =>
          allowedOrRepeated(prototype.versionPolicy, existing, firmware),
        ),
      );
      const created = stored.id === firmware.id;
      if (created) await this.deps.afterCreate?.(stored);
      if (created) {
        this.deps.events?.publish({
          type: 'firmware.uploaded',
          firmwareId: stored.id,
          prototypeId: stored.prototypeId,
          name: stored.name,
          version: stored.version,
          size: stored.size,
          sha256: stored.sha256,
          createdBy: actorName(actor),
          at: stored.createdAt,
        });
      }
      return { firmware: stored, created };
    } finally {
      await this.deps.blobs.discard(staged);
    }
  }

  async list(actor: Actor, prototypeId: string): Promise<Firmware[]> {
    requireRole(actor, 'viewer');
    await this.deps.prototypes.require(prototypeId);
    return (await this.deps.firmwares.listByPrototype(prototypeId)).sort(byVersion);
  }

  async get(actor: Actor, id: string): Promise<Firmware> {
    requireRole(actor, 'viewer');
    return this.require(id);
  }

  async update(actor: Actor, id: string, patch: FirmwarePatch): Promise<Firmware> {
    requireRole(actor, 'developer');
    const current = await this.require(id);
    const updated: Firmware = {
      ...current,
      name: patch.name === undefined ? current.name : requireText('name', patch.name, limits.name),
      releaseNote:
        patch.releaseNote === undefined
          ? current.releaseNote
          : requireText('releaseNote', patch.releaseNote, limits.releaseNote),
      prerequisites:
        patch.prerequisites === undefined
          ? current.prerequisites
          : await this.requirePrerequisites(current.prototypeId, patch.prerequisites, current.id),
    };
    await this.deps.firmwares.update(updated);
    return updated;
  }

  /**
   * Deleting a firmware that a device runs, or that another firmware lists as a prerequisite, needs
   * `force`: those devices then count as running an unknown firmware, and the prerequisite lists
   * lose it.
   */
  async delete(actor: Actor, id: string, options: { force: boolean }): Promise<void> {
    requireRole(actor, 'developer');
    const firmware = await this.require(id);
    if (!options.force) {
      const [devices, dependents] = await Promise.all([
        this.deps.listRunningDevices(id),
        this.deps.firmwares.listDependents(id),
      ]);
      const uses = [
        devices.length > 0 ? `devices ${devices.join(', ')} run it` : '',
        dependents.length > 0 ? `firmwares ${dependents.join(', ')} list it as prerequisite` : '',
      ].filter(Boolean);
      if (uses.length > 0)
        throw new DomainError('in_use', `firmware ${id} is in use: ${uses.join('; ')}; use force to delete it anyway`);
    }
    await this.deps.firmwares.delete(id);
    await this.deps.blobs.release(firmware.sha256);
  }

  /** Downloads are public: the firmware id in the URL is the capability, as MCS's CDN URLs were. */
  async openForDownload(id: string): Promise<Firmware> {
    return this.require(id);
  }

  readBytes(firmware: Firmware, range?: ByteRange): Promise<Readable> {
    return this.deps.blobStore.get(firmware.sha256, range);
  }

  async require(id: string): Promise<Firmware> {
    const firmware = await this.deps.firmwares.get(id);
    if (!firmware) throw notFound(`no firmware ${id}`);
    return firmware;
  }

  private async requirePrerequisites(
    prototypeId: string,
    prerequisites: Prerequisites,
    self: string | undefined,
  ): Promise<Prerequisites> {
    if (prerequisites === 'all') return 'all';
    const unique = [...new Set(prerequisites)];
    for (const id of unique) {
      if (id === self) throw invalid('a firmware cannot be its own prerequisite');
      const firmware = await this.deps.firmwares.get(id);
      if (!firmware || firmware.prototypeId !== prototypeId) {
        throw invalid(`prerequisite ${id} is not a firmware of prototype ${prototypeId}`);
      }
    }
    return unique;
  }
}

function requireVersion(version: unknown): string {
  if (typeof version !== 'string') throw invalid('version is required');
  const problem = versionTextProblem(version);
  if (problem) throw invalid(problem);
  return version;
}

const MD5_HEX = /^[0-9a-fA-F]{32}$/;

function requireMd5(checksum: string): string {
  const trimmed = checksum.trim();
  if (!MD5_HEX.test(trimmed)) throw invalid('checksum must be an MD5 digest: 32 hexadecimal digits');
  return trimmed.toLowerCase();
}

type Candidate = Pick<Firmware, 'version' | 'name' | 'releaseNote' | 'prerequisites' | 'fileName'> & {
  /** Unknown before the bytes are read. */
  readonly sha256: string | undefined;
};

/**
 * The version rules, except that a firmware the candidate repeats (same version and description,
 * and the same bytes once they are known) is returned instead of refused as a duplicate.
 */
function allowedOrRepeated(
  policy: VersionPolicy,
  existing: readonly Firmware[],
  candidate: Candidate,
): Firmware | undefined {
  const same = existing.find((firmware) => firmware.version === candidate.version);
  if (same && repeats(same, candidate)) return same;
  assertVersionAllowed(policy, existing, candidate.version);
  return undefined;
}

function repeats(stored: Firmware, candidate: Candidate): boolean {
  const prerequisites = (list: Prerequisites) => (list === 'all' ? 'all' : [...list].sort().join(','));
  return (
    (candidate.sha256 === undefined || candidate.sha256 === stored.sha256) &&
    candidate.name === stored.name &&
    candidate.releaseNote === stored.releaseNote &&
    candidate.fileName === stored.fileName &&
    prerequisites(candidate.prerequisites) === prerequisites(stored.prerequisites)
  );
}

/** The version rules of a prototype: unique versions, and under `increasing`, each higher than all. */
export function assertVersionAllowed(policy: VersionPolicy, existing: readonly Firmware[], version: string): void {
  if (existing.some((firmware) => firmware.version === version)) {
    throw new DomainError('duplicate', `version ${version} already exists in this prototype`);
  }
  if (policy !== 'increasing') return;
  if (parseOrderedVersion(version) === undefined) {
    throw invalid(
      `version ${version} cannot be ordered; a prototype with the increasing policy needs versions like 1.2.3`,
    );
  }
  const notBelow = existing.find((firmware) => !isHigherVersion(version, firmware.version));
  if (notBelow) {
    throw new DomainError(
      'version_not_higher',
      `version ${version} is not higher than existing version ${notBelow.version}`,
    );
  }
}
