import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DomainError } from '../domain/errors.js';

export interface Digests {
  readonly md5: string;
  readonly sha256: string;
  readonly size: number;
}

/**
 * Passes bytes through while computing their MD5, SHA-256 and size; fails with `too_large` as soon
 * as more than `maxBytes` went by, so an over-size upload stops without being read to the end.
 */
export class HashingStream extends Transform {
  private readonly md5: Hash = createHash('md5');
  private readonly sha256: Hash = createHash('sha256');
  // Not `size`: the AWS SDK reads a stream's `size` as its length (lib-storage would expect 0 parts).
  private byteCount = 0;
  private result: Digests | undefined;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.byteCount += chunk.length;
    if (this.byteCount > this.maxBytes) {
      callback(new DomainError('too_large', `the firmware is larger than the limit of ${this.maxBytes} bytes`));
      return;
    }
    this.md5.update(chunk);
    this.sha256.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = { md5: this.md5.digest('hex'), sha256: this.sha256.digest('hex'), size: this.byteCount };
    callback();
  }

  /** The digests, once the stream has ended. */
  digests(): Digests {
    if (!this.result) throw new Error('digests are only known once the stream has ended');
    return this.result;
  }
}
