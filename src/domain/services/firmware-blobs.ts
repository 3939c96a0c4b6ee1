import type { Readable } from 'node:stream';
import { KeyedMutex } from '../keyed-mutex.js';
import type { BlobStore, FirmwareRepository, StagedBlob } from '../ports.js';

/**
 * Keeps firmware blobs and firmware rows consistent: a blob is committed under its hash and the row
 * inserted while no release of the same hash can run, and a blob is deleted only when no firmware
 * refers to it. The lock is per process; several nodes need the bus of a later issue.
 */
export class FirmwareBlobs {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly store: BlobStore,
    private readonly firmwares: FirmwareRepository,
  ) {}

  stage(source: Readable, maxBytes: number): Promise<StagedBlob> {
    return this.store.stage(source, { maxBytes });
  }

  discard(staged: StagedBlob): Promise<void> {
    return this.store.discard(staged);
  }

  /** Commits the staged blob, then runs `record`; if `record` fails, a blob nothing refers to is removed. */
  async commit<T>(staged: StagedBlob, record: () => Promise<T>): Promise<T> {
    return this.locks.run(staged.sha256, async () => {
      await this.store.commit(staged);
      try {
        return await record();
      } catch (error) {
        await this.deleteIfUnreferenced(staged.sha256);
        throw error;
      }
    });
  }

  /** Deletes the blob when no firmware refers to it any more. */
  async release(sha256: string): Promise<void> {
    await this.locks.run(sha256, () => this.deleteIfUnreferenced(sha256));
  }

  /**
   * Deletes the blobs no firmware refers to that were stored before `olderThan`: left when a process
   * died between committing a blob and its row. Run at start, before uploads are accepted. Younger
   * ones are kept: another node sharing the store (a bucket, a data folder) may have just committed
   * one and not yet written its row.
   */
  async sweepUnreferenced(options: { readonly olderThan: Date }): Promise<number> {
    let deleted = 0;
    for await (const { sha256, storedAt } of this.store.entries()) {
      if (storedAt.getTime() >= options.olderThan.getTime()) continue;
      await this.locks.run(sha256, async () => {
        if ((await this.firmwares.countBySha256(sha256)) > 0) return;
        await this.store.delete(sha256);
        deleted++;
      });
    }
    return deleted;
  }

  private async deleteIfUnreferenced(sha256: string): Promise<void> {
    if ((await this.firmwares.countBySha256(sha256)) === 0) await this.store.delete(sha256);
  }
}
