import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from './cli-error.js';

/** The file part of a form: a file on disk whose size is known before sending. */
export interface FilePart {
  readonly field: string;
  readonly path: string;
  /** The file name the server is told. */
  readonly fileName: string;
  readonly size: number;
}

/**
 * A multipart/form-data body built by hand so that its length is known up front and the file is
 * streamed from disk: the text fields first, then the one file part. Nothing but the few header
 * lines is ever held in memory.
 */
export class MultipartBody {
  readonly contentType: string;
  readonly contentLength: number;
  private readonly head: Buffer;
  private readonly tail: Buffer;

  constructor(
    fields: ReadonlyArray<readonly [name: string, value: string]>,
    private readonly file: FilePart,
  ) {
    const boundary = `----fota-${randomBytes(16).toString('hex')}`;
    const fieldParts = fields.map(
      ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`,
    );
    const fileHeader =
      `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(file.field)}"; filename="${quoted(file.fileName)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n';
    this.head = Buffer.from(fieldParts.join('') + fileHeader);
    this.tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    this.contentType = `multipart/form-data; boundary=${boundary}`;
    this.contentLength = this.head.length + file.size + this.tail.length;
  }

  /**
   * Writes the whole body to `out` and ends it, reading the file in chunks and waiting whenever
   * `out` is full. `onFileBytes` hears how many bytes of the file were written so far. A file that
   * cannot be read, or whose size changed since it was measured, destroys `out` with a CliError.
   */
  writeTo(out: Writable, onFileBytes: (written: number) => void): void {
    const { head, tail, file } = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      yield head;
      let written = 0;
      if (file.size > 0) {
        try {
          for await (const chunk of createReadStream(file.path, { start: 0, end: file.size - 1 })) {
            yield chunk as Buffer;
            written += (chunk as Buffer).length;
            onFileBytes(written);
          }
        } catch (error) {
          throw new CliError(`cannot read ${file.path}: ${(error as Error).message}`);
        }
      }
      if (written !== file.size) throw new CliError(`${file.path} got shorter while it was being sent`);
      yield tail;
    }
    pipeline(chunks, out).catch((error: unknown) => out.destroy(error as Error));
  }
}

/** A name inside a quoted header parameter: quotes and backslashes escaped, line breaks dropped. */
const quoted = (text: string): string => text.replace(/[\r\n]/g, '').replace(/["\\]/g, (character) => `\\${character}`);
