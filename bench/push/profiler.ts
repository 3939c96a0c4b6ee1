import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../lib/fota-server.js';
import { sleep } from './measure.js';

/** The preload that profiles the server between two SIGUSR2 (bench/push/cpu-profile-preload.mjs). */
export const PROFILE_PRELOAD = join(repoRoot, 'bench/push/cpu-profile-preload.mjs');

/** What the fota server needs in its environment to be profiled into `dir`. */
export function profileEnv(dir: string): NodeJS.ProcessEnv {
  const preload = `--import ${PROFILE_PRELOAD}`;
  const inherited = process.env['NODE_OPTIONS'];
  return { NODE_OPTIONS: inherited ? `${inherited} ${preload}` : preload, BENCH_CPU_PROFILE_DIR: dir };
}

/** Profiles stretches of a server process started with `profileEnv(dir)`, one file per stretch. */
export class ServerProfiler {
  private count = 0;
  private label: string | undefined;
  readonly files: { label: string; file: string }[] = [];

  constructor(
    private readonly pid: number,
    private readonly dir: string,
  ) {}

  static async create(pid: number, dir: string): Promise<ServerProfiler> {
    await mkdir(dir, { recursive: true });
    return new ServerProfiler(pid, dir);
  }

  start(label: string): void {
    if (this.label !== undefined) throw new Error(`the profile ${this.label} is still running`);
    this.label = label;
    process.kill(this.pid, 'SIGUSR2');
  }

  /** Stops the running profile and waits until the server wrote it; answers its file. */
  async stop(): Promise<string> {
    const label = this.label;
    if (label === undefined) throw new Error('no profile is running');
    this.label = undefined;
    process.kill(this.pid, 'SIGUSR2');
    const written = join(this.dir, `profile-${++this.count}.cpuprofile`);
    for (let waited = 0; !existsSync(written); waited += 100) {
      if (waited > 60_000) throw new Error(`the server did not write ${written} within 60 s`);
      await sleep(100);
    }
    const file = join(this.dir, `${label}.cpuprofile`);
    await rename(written, file);
    this.files.push({ label, file });
    return file;
  }
}
