import { constants, createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ApiError, type FileSource, type HttpClient } from '../contract/http-client.js';
import type { FirmwareBody } from '../contract/schemas.js';
import { CliError } from './cli-error.js';
import { uploadProgress } from './upload-progress.js';

/** The text fields of an upload, as the API names them. */
export interface FirmwareFields {
  readonly name: string;
  readonly version: string;
  readonly releaseNote?: string | undefined;
  /** `all`, or firmware ids separated by commas. */
  readonly prerequisites?: string | undefined;
  /** The MD5 of the file in hex; the server refuses the upload when the file differs. */
  readonly checksum?: string | undefined;
}

/**
 * Uploads a firmware file through the contract client, streamed from disk with a progress bar on
 * a terminal. The file is checked before any request is made.
 */
export async function uploadFirmware(
  client: HttpClient,
  prototypeId: string,
  path: string,
  fields: FirmwareFields,
): Promise<FirmwareBody> {
  const size = await firmwareFileSize(path);
  const fileName = basename(path);
  const progress = uploadProgress(fileName, size);
  try {
    return await client.uploadFirmware(
      prototypeId,
      {
        name: fields.name,
        version: fields.version,
        releaseNote: fields.releaseNote,
        checksum: fields.checksum,
        prerequisites:
          fields.prerequisites === undefined || fields.prerequisites === 'all'
            ? 'all'
            : fields.prerequisites.split(','),
        file: fileOnDisk(path, size),
        fileName,
      },
      undefined,
      (sent) => progress.update(sent),
    );
  } catch (error) {
    if (error instanceof ApiError && error.code === 'file_unreadable') {
      // The file's own error (a CliError of fileOnDisk), or the contract's: its size changed.
      const cause = (error.cause as { cause?: unknown } | undefined)?.cause;
      throw cause instanceof CliError ? cause : new CliError(`${path} ${error.message.replace(/^the file /, '')}`);
    }
    throw error;
  } finally {
    progress.stop();
  }
}

/** The file as the contract client reads it: its first `size` bytes, read from disk as they are sent. */
function fileOnDisk(path: string, size: number): FileSource {
  return {
    size,
    stream: () => {
      let chunks: AsyncIterator<Buffer> | undefined;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (size === 0) return controller.close();
          chunks ??= createReadStream(path, { start: 0, end: size - 1 })[Symbol.asyncIterator]();
          let next: IteratorResult<Buffer>;
          try {
            next = await chunks.next();
          } catch (error) {
            throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
          }
          // The contract checks that the file gave exactly `size` bytes.
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        async cancel() {
          await chunks?.return?.();
        },
      });
    },
  };
}

async function firmwareFileSize(path: string): Promise<number> {
  try {
    const file = await stat(path);
    if (!file.isFile()) throw new CliError(`${path} is not a file`);
    await access(path, constants.R_OK);
    return file.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new CliError(`no such file: ${path}`);
    if (code === 'EACCES') throw new CliError(`cannot read ${path}: permission denied`);
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
}
