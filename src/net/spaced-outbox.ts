import { performance } from 'node:perf_hooks';

/** A message waiting for its turn on one socket, and who hears whether it was written. */
export interface Spaced {
  readonly written?: ((error: Error | undefined) => void) | undefined;
}

/**
 * The messages to one device socket, written at least `gapMs` apart: device clients (mcsjs, mcs.c,
 * the LinkIt 7681 board) handle one message per `recv` and drop the rest, so two messages written
 * close together are read as one and the second is lost. The session decides the order in `queue`
 * (which message goes first, which replaces another, how many may wait); `flush` writes them.
 */
export class SpacedOutbox<T extends Spaced> {
  readonly queue: T[] = [];
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly gapMs: number,
    private readonly write: (message: T, done: (error: Error | undefined) => void) => void,
    /** True once the session ends: what still waits is dropped instead of written. */
    private readonly ended: () => boolean,
  ) {}

  /** Writes the next message once the gap since the last write passed, one per gap. */
  flush(): void {
    if (this.timer !== undefined) return;
    while (this.queue.length > 0) {
      if (this.ended()) return this.drop();
      const wait = this.lastWriteAt + this.gapMs - performance.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.flush();
        }, Math.ceil(wait));
        this.timer.unref();
        return;
      }
      const message = this.queue.shift()!;
      this.lastWriteAt = performance.now();
      this.write(message, (error) => message.written?.(error));
    }
  }

  /** Fails every waiting message: the connection closed before its turn. */
  drop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const closed = new Error('the connection closed');
    for (const message of this.queue.splice(0)) message.written?.(closed);
  }
}
