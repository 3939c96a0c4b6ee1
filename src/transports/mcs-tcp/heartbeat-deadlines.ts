/**
 * When each connection last showed a valid heartbeat, for one sweep that closes the silent ones.
 * Entries stay in the order of their last refresh (a refresh moves one to the end), so a sweep stops
 * at the first entry still in time: each costs O(expired), and no connection holds its own timer.
 */
export class HeartbeatDeadlines<T> {
  private readonly refreshed = new Map<T, number>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.refreshed.size;
  }

  /** Starts or restarts the wait of `entry` at `now` (monotonic milliseconds). */
  refresh(entry: T, now: number): void {
    this.refreshed.delete(entry);
    this.refreshed.set(entry, now);
  }

  remove(entry: T): void {
    this.refreshed.delete(entry);
  }

  /** Removes and returns the entries that had no refresh for the timeout. */
  expire(now: number): T[] {
    const expired: T[] = [];
    for (const [entry, at] of this.refreshed) {
      if (now - at < this.timeoutMs) break;
      expired.push(entry);
    }
    for (const entry of expired) this.refreshed.delete(entry);
    return expired;
  }
}
