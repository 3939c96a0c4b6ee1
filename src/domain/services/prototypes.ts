import { requireRole } from '../access.js';
import { DomainError, notFound, invalid } from '../errors.js';
import { newPrototypeId } from '../ids.js';
import { boards, versionPolicies, type Actor, type Board, type Prototype, type VersionPolicy } from '../model.js';
import type { Clock, DeviceRepository, FirmwareRepository, PrototypeRepository } from '../ports.js';
import { limits, requireText } from '../text.js';
import { parseOrderedVersion, compareVersionPrecedence } from '../version.js';
import type { FirmwareBlobs } from './firmware-blobs.js';

export interface PrototypeInput {
  readonly name: string;
  readonly description?: string | undefined;
  readonly versionPolicy?: VersionPolicy | undefined;
  /** Fixed at creation; `linkit7681` forces the `increasing` policy. */
  readonly board?: Board | undefined;
}

export type PrototypePatch = Partial<Omit<PrototypeInput, 'board'>>;

export class PrototypeService {
  constructor(
    private readonly deps: {
      readonly prototypes: PrototypeRepository;
      readonly devices: DeviceRepository;
      readonly firmwares: FirmwareRepository;
      readonly blobs: FirmwareBlobs;
      readonly clock: Clock;
    },
  ) {}

  async create(actor: Actor, input: PrototypeInput): Promise<Prototype> {
    requireRole(actor, 'developer');
    const board = requireBoard(input.board ?? 'mcs');
    const prototype: Prototype = {
      id: newPrototypeId(),
      name: requireText('name', input.name, limits.name),
      description: requireText('description', input.description ?? '', limits.description),
      versionPolicy: policyForBoard(
        board,
        requirePolicy(input.versionPolicy ?? (board === 'linkit7681' ? 'increasing' : 'any')),
      ),
      board,
      createdAt: this.deps.clock.now(),
    };
    await this.deps.prototypes.insert(prototype);
    return prototype;
  }

  async list(actor: Actor): Promise<Prototype[]> {
    requireRole(actor, 'viewer');
    return this.deps.prototypes.list();
  }

  async get(actor: Actor, id: string): Promise<Prototype> {
    requireRole(actor, 'viewer');
    return this.require(id);
  }

  async update(actor: Actor, id: string, patch: PrototypePatch): Promise<Prototype> {
    requireRole(actor, 'developer');
    const current = await this.require(id);
    const updated: Prototype = {
      ...current,
      name: patch.name === undefined ? current.name : requireText('name', patch.name, limits.name),
      description:
        patch.description === undefined
          ? current.description
          : requireText('description', patch.description, limits.description),
      versionPolicy:
        patch.versionPolicy === undefined
          ? current.versionPolicy
          : policyForBoard(current.board, requirePolicy(patch.versionPolicy)),
    };
    if (updated.versionPolicy === 'increasing' && current.versionPolicy !== 'increasing') {
      await this.assertOrderedHistory(id);
    }
    await this.deps.prototypes.update(updated);
    return updated;
  }

  /** Deleting a prototype that still has devices or firmwares needs `force`, which deletes them too. */
  async delete(actor: Actor, id: string, options: { force: boolean }): Promise<void> {
    requireRole(actor, 'developer');
    await this.require(id);
    const [devices, firmwares] = await Promise.all([
      this.deps.devices.listByPrototype(id),
      this.deps.firmwares.listByPrototype(id),
    ]);
    if (!options.force && (devices.length > 0 || firmwares.length > 0)) {
      throw new DomainError(
        'in_use',
        `prototype ${id} still has ${devices.length} device(s) and ${firmwares.length} firmware(s); delete them first or use force`,
      );
    }
    await this.deps.prototypes.delete(id);
    await Promise.all(firmwares.map((firmware) => this.deps.blobs.release(firmware.sha256)));
  }

  async require(id: string): Promise<Prototype> {
    const prototype = await this.deps.prototypes.get(id);
    if (!prototype) throw notFound(`no prototype ${id}`);
    return prototype;
  }

  /** Switching to `increasing` is only allowed when the versions already uploaded are ordered. */
  private async assertOrderedHistory(id: string): Promise<void> {
    const firmwares = await this.deps.firmwares.listByPrototype(id);
    const unordered = firmwares.find((firmware) => parseOrderedVersion(firmware.version) === undefined);
    if (unordered) {
      throw new DomainError(
        'in_use',
        `version "${unordered.version}" cannot be ordered, so this prototype cannot use the increasing policy`,
      );
    }
    const sorted = [...firmwares].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (let i = 1; i < sorted.length; i++) {
      if (compareVersionPrecedence(sorted[i]!.version, sorted[i - 1]!.version) <= 0) {
        throw new DomainError(
          'in_use',
          `version "${sorted[i]!.version}" was uploaded after "${sorted[i - 1]!.version}" without being higher, so this prototype cannot use the increasing policy`,
        );
      }
    }
  }
}

function requirePolicy(value: unknown): VersionPolicy {
  if (!versionPolicies.includes(value as VersionPolicy)) {
    throw invalid(`versionPolicy must be one of ${versionPolicies.join(', ')}`);
  }
  return value as VersionPolicy;
}

function requireBoard(value: unknown): Board {
  if (!boards.includes(value as Board)) throw invalid(`board must be one of ${boards.join(', ')}`);
  return value as Board;
}

/** A LinkIt 7681 board only takes a strictly higher version: its prototypes keep `increasing`. */
function policyForBoard(board: Board, policy: VersionPolicy): VersionPolicy {
  if (board === 'linkit7681' && policy !== 'increasing') {
    throw invalid(
      'a LinkIt 7681 prototype keeps the increasing version policy: the board only accepts a higher version',
    );
  }
  return policy;
}
