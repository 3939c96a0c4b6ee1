import type { SimulatedProtocol } from './types.js';

/** One kind of failed or lost connection, and how often devices met it. */
export interface ConnectionProblem {
  readonly protocol: SimulatedProtocol;
  /** As the first device met it: `connect ECONNREFUSED 127.0.0.1:1883`. */
  readonly reason: string;
  readonly count: number;
}

/** Kinds told apart at most; the rest are counted together, so a storm of odd reasons stays small. */
export const MAX_PROBLEM_KINDS = 20;
export const OTHER_REASONS = 'other reasons';

/**
 * The reasons connections failed or were lost, by kind: the protocol and the reason with the
 * device's own id taken out, so that a thousand devices refused by one broker are one kind.
 */
export class ConnectionProblems {
  private readonly kinds = new Map<string, { protocol: SimulatedProtocol; reason: string; count: number }>();

  /** Counts one failed or lost connection; true when it is the first of its kind. */
  record(protocol: SimulatedProtocol, deviceId: string, reason: string): boolean {
    let key = `${protocol} ${deviceId === '' ? reason : reason.replaceAll(deviceId, '<device>')}`;
    let shown = reason;
    if (!this.kinds.has(key) && this.kinds.size >= MAX_PROBLEM_KINDS) {
      key = `${protocol} ${OTHER_REASONS}`;
      shown = OTHER_REASONS;
    }
    const known = this.kinds.get(key);
    if (known) {
      known.count++;
      return false;
    }
    this.kinds.set(key, { protocol, reason: shown, count: 1 });
    return true;
  }

  /** Every kind, the most frequent first. */
  list(): ConnectionProblem[] {
    return [...this.kinds.values()].map((kind) => ({ ...kind })).sort((a, b) => b.count - a.count);
  }
}
