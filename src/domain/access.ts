import { DomainError } from './errors.js';
import type { Actor, Role } from './model.js';

const rank: Record<Role, number> = { viewer: 0, developer: 1, admin: 2 };

/** The role an actor acts with; undefined for a device, which has none on the management side. */
export function roleOf(actor: Actor): Role | undefined {
  if (actor.kind === 'admin') return 'admin';
  if (actor.kind === 'user') return actor.role;
  return undefined;
}

/** Whether `role` includes `needed` (admin ⊃ developer ⊃ viewer). */
export const roleIncludes = (role: Role, needed: Role): boolean => rank[role] >= rank[needed];

/** The lower of two roles: what a token acts with when its owner's role was lowered. */
export const lowerRole = (a: Role, b: Role): Role => (rank[a] <= rank[b] ? a : b);

/**
 * Authorization, checked by every service method whatever transport called it: viewers read,
 * developers also change prototypes, devices, firmware and pushes, admins also manage users.
 */
export function requireRole(actor: Actor, needed: Role): void {
  const role = roleOf(actor);
  if (role === undefined) throw new DomainError('forbidden', `this action needs a user or token with role ${needed}`);
  if (!roleIncludes(role, needed)) {
    throw new DomainError('forbidden', `this action needs role ${needed}; you act as ${role}`);
  }
}

export function requireAdmin(actor: Actor): void {
  requireRole(actor, 'admin');
}

/** Viewers see devices without their keys. */
export function mayReadDeviceKeys(actor: Actor): boolean {
  const role = roleOf(actor);
  return role !== undefined && roleIncludes(role, 'developer');
}

/** Who an actor is in a record such as a push's `createdBy`. */
export function actorName(actor: Actor): string {
  if (actor.kind === 'user') return actor.name;
  return actor.kind === 'admin' ? 'admin' : actor.deviceId;
}

export function requireDevice(actor: Actor, deviceId: string): Extract<Actor, { kind: 'device' }> {
  if (actor.kind !== 'device' || actor.deviceId !== deviceId) {
    throw new DomainError('forbidden', 'a device may only act on itself');
  }
  return actor;
}
