import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Builds verifier/c/fota_verify.c with the system's `cc` against libsodium into `dir`, and answers
 * a function that runs it. Throws naming the Debian packages when they are missing.
 */
export async function buildCVerifier(
  dir: string,
): Promise<(publicKey: string, manifest: string, signature: string, firmware: string) => Promise<CVerdict>> {
  if (!existsSync('/usr/include/sodium.h')) {
    throw new Error('the C verifier test needs libsodium: apt-get install libsodium-dev (and gcc for cc)');
  }
  const binary = join(dir, 'fota_verify');
  const source = new URL('../../verifier/c/fota_verify.c', import.meta.url).pathname;
  await run('cc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O2', '-o', binary, source, '-lsodium']);
  return async (publicKey, manifest, signature, firmware) => {
    try {
      const { stdout, stderr } = await run(binary, [publicKey, manifest, signature, firmware]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: unknown; stdout?: string; stderr?: string };
      if (typeof failed.code !== 'number') throw error;
      return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };
}

export interface CVerdict {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}
