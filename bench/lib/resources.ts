import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree } from './proc.js';

const TAIL_BYTES = 16 * 1024;

/** A child process the bench started, with the end of its output for error messages. */
export class BenchChild {
  readonly pid: number;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  private output = '';
  private done = false;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly stopSignal: NodeJS.Signals,
  ) {
    if (child.pid === undefined) throw new Error(`${name} did not start`);
    this.pid = child.pid;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.done = true;
        resolve(code ?? signal ?? 'unknown');
      });
      child.once('error', (error) => {
        keep(Buffer.from(`\n${error.message}\n`));
        this.done = true;
        resolve('spawn error');
      });
    });
  }

  get running(): boolean {
    return !this.done;
  }

  /** The last lines the process wrote on stdout and stderr. */
  tail(): string {
    return this.output.trim();
  }

  /**
   * Asks the process to stop, then kills it and every descendant still alive after `graceMs`
   * (an nginx master killed hard would leave its workers behind).
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    const tree = processTree(this.pid);
    this.child.kill(this.stopSignal);
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([this.exited, timer])) !== 'timeout') return;
    for (const pid of [...tree, ...processTree(this.pid)].reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.exited;
  }
}

/**
 * Every child process and temporary folder of one bench run, so that one `cleanup()` (on success,
 * error or signal) stops the processes and removes the folders.
 */
export class Resources {
  private readonly children: BenchChild[] = [];
  private readonly folders: string[] = [];
  private cleaning: Promise<void> | undefined;

  spawn(
    name: string,
    command: string,
    args: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; stopSignal?: NodeJS.Signals } = {},
  ): BenchChild {
    if (this.cleaning) throw new Error('the bench is stopping');
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tracked = new BenchChild(name, child, options.stopSignal ?? 'SIGTERM');
    this.children.push(tracked);
    // BENCH_LOG_DIR: every child's whole output is kept there too (the tail above is all a failure shows).
    const logDir = process.env['BENCH_LOG_DIR'];
    if (logDir) {
      const file = createWriteStream(join(logDir, `${name.replace(/[^\w.-]+/g, '-')}-${tracked.pid}.log`));
      child.stdout?.pipe(file);
      child.stderr?.pipe(file);
    }
    return tracked;
  }

  async tempDir(prefix: string): Promise<string> {
    if (this.cleaning) throw new Error('the bench is stopping');
    const folder = await mkdtemp(join(tmpdir(), prefix));
    this.folders.push(folder);
    return folder;
  }

  /** Stops the children (newest first), then removes the folders. Safe to call more than once. */
  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      for (const child of [...this.children].reverse()) await child.stop().catch(() => undefined);
      for (const folder of this.folders) await rm(folder, { recursive: true, force: true }).catch(() => undefined);
    })();
    return this.cleaning;
  }
}
