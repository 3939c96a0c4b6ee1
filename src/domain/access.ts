import { DomainError } from './errors.js';
import type { Actor } from './model.js';

/** Authorization, checked by every service method whatever transport called it. */
export function requireAdmin(actor: Actor): void {
  if (actor.kind !== 'admin') throw new DomainError('forbidden', 'this action needs an administrator token');
}

export function requireDevice(actor: Actor, deviceId: string): Extract<Actor, { kind: 'device' }> {
  if (actor.kind !== 'device' || actor.deviceId !== deviceId) {
    throw new DomainError('forbidden', 'a device may only act on itself');
  }
  return actor;
}
