import { spawn, type ChildProcess } from 'node:child_process';

/** The `fota` command as a user runs it: a child process from the repository root. */

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `fota` process started and not waited for yet. */
export interface Started {
  readonly process: ChildProcess;
  readonly result: Promise<Run>;
  /** What it wrote so far. */
  stdout(): string;
  stderr(): string;
}

const repoRoot = new URL('../..', import.meta.url);

/** `fota` processes still running, for a test's cleanup: `stopAll()`. */
const running = new Set<ChildProcess>();

/**
 * Starts `fota …` with the environment given and nothing of this process's FOTA_* variables;
 * `input`, when given, is written to its standard input (closed otherwise).
 */
export function startFota(args: readonly string[], env: Record<string, string>, input?: string): Started {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FOTA_')));
  const child = spawn(process.execPath, ['bin/fota.js', ...args], {
    cwd: repoRoot,
    env: { ...inherited, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin!.end(input);
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const result = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
  return { process: child, result, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `fota …` to its end. */
export const runFota = (args: readonly string[], env: Record<string, string>, input?: string): Promise<Run> =>
  startFota(args, env, input).result;

/** Kills every `fota` process a test left running. */
export function stopAllFota(): void {
  for (const child of running) child.kill('SIGKILL');
}
