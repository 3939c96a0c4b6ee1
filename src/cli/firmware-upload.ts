import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FirmwareBody } from '../contract/schemas.js';
import type { ApiAnswer, ApiClient } from './api-client.js';
import { CliError } from './cli-error.js';
import { MultipartBody } from './multipart-body.js';
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
 * Uploads a firmware file as `multipart/form-data`, streamed from disk with a progress bar on a
 * terminal. The file is checked before any request is made.
 */
export async function uploadFirmware(
  client: ApiClient,
  prototypeId: string,
  path: string,
  fields: FirmwareFields,
): Promise<ApiAnswer<FirmwareBody>> {
  const size = await firmwareFileSize(path);
  const fileName = basename(path);
  const body = new MultipartBody(
    Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined),
    { field: 'file', path, fileName, size },
  );
  const progress = uploadProgress(fileName, size);
  try {
    return await client.send<FirmwareBody>(
      'POST',
      `/prototypes/${encodeURIComponent(prototypeId)}/firmwares`,
      { 'content-type': body.contentType, 'content-length': body.contentLength },
      (request) => body.writeTo(request, (written) => progress.update(written)),
    );
  } finally {
    progress.stop();
  }
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
