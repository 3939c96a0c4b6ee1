import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * What Linux tells about a process in /proc: resident memory, its peak, CPU time and children.
 * Every reader answers undefined (or nothing) once the process is gone instead of throwing.
 */

export interface MemoryStatus {
  /** VmRSS: resident set now. */
  readonly rssBytes: number;
  /** VmHWM: the peak resident set since start or since the last `resetPeakRss`. */
  readonly peakRssBytes: number;
}

let clockTicks: number | undefined;

/** Clock ticks per second, the unit of utime and stime in /proc/PID/stat. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export function readMemory(pid: number): MemoryStatus | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

/**
 * Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`, Linux 4.0+, needs the right to
 * write there). Answers false when the kernel refused, so the caller can say the peak is since start.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

interface StatFields {
  readonly ppid: number;
  readonly cpuTicks: number;
  /** cutime + cstime: CPU of the children that ended and were waited for. */
  readonly childrenCpuTicks: number;
}

function readStat(pid: number): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name, field 2, is in parentheses and may hold spaces: split after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  return {
    ppid: Number(fields[1]),
    cpuTicks: Number(fields[11]) + Number(fields[12]),
    childrenCpuTicks: Number(fields[13]) + Number(fields[14]),
  };
}

/** The live children of a process (one level). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (readStat(Number(name))?.ppid === pid) children.push(Number(name));
  }
  return children;
}

/** A process and all its live descendants, parents first. */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...childPids(tree[i]!));
  return tree;
}

/** One process, or several counted together (the nodes of a cluster). */
export type Pids = number | readonly number[];

const pidList = (pids: Pids): readonly number[] => (typeof pids === 'number' ? [pids] : pids);

/**
 * User plus system CPU seconds of a process and its live descendants (an nginx master and workers,
 * a `fota serve --workers` primary and its workers), summed over `pids`.
 */
export function treeCpuSeconds(pids: Pids): number {
  let ticks = 0;
  for (const pid of pidList(pids)) for (const member of processTree(pid)) ticks += readStat(member)?.cpuTicks ?? 0;
  return ticks / ticksPerSecond();
}

/**
 * As treeCpuSeconds, plus the CPU of the children each member has reaped (cutime and cstime): a
 * PostgreSQL postmaster's backends that ended are still counted.
 */
export function treeCpuWithReapedSeconds(pids: Pids): number {
  let ticks = 0;
  for (const pid of pidList(pids)) {
    for (const member of processTree(pid)) {
      const stat = readStat(member);
      ticks += (stat?.cpuTicks ?? 0) + (stat?.childrenCpuTicks ?? 0);
    }
  }
  return ticks / ticksPerSecond();
}

/** VmRSS of each process in the trees of `pids`, summed (shared pages count once per process). */
export function treeRssBytes(pids: Pids): number {
  let bytes = 0;
  for (const pid of pidList(pids)) for (const member of processTree(pid)) bytes += readMemory(member)?.rssBytes ?? 0;
  return bytes;
}

/** Polls VmRSS, as a cross-check of VmHWM and for kernels that refuse `resetPeakRss`. */
export class RssSampler {
  private maxBytes = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly pid: number,
    intervalMs = 20,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Stops polling and answers the largest RSS seen. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.maxBytes;
  }

  private sample(): void {
    const memory = readMemory(this.pid);
    if (memory && memory.rssBytes > this.maxBytes) this.maxBytes = memory.rssBytes;
  }
}

/** CPU seconds (user + system, all threads) this bench process has used so far: the client side. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/**
 * CPU seconds of this process's children that have ended and been waited for (md5sum, sha256sum):
 * the difference around one `execFile` is that command's CPU time.
 */
export function endedChildrenCpuSeconds(): number {
  return (readStat(process.pid)?.childrenCpuTicks ?? 0) / ticksPerSecond();
}
