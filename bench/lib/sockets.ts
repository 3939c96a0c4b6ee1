import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * What Linux tells about a process's sockets and file descriptors in /proc. Every reader answers an
 * empty list or 0 once the process is gone instead of throwing.
 */

/** The inodes of the sockets a process holds open (`/proc/PID/fd/* -> socket:[inode]`). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** The IPv4 TCP ports a process listens on, from /proc/PID/net/tcp (state 0A is LISTEN). */
export function listeningPorts(pid: number): number[] {
  const inodes = socketInodes(pid);
  let table: string;
  try {
    table = readFileSync(`/proc/${pid}/net/tcp`, 'utf8');
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const line of table.split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9]!)) continue;
    ports.push(Number.parseInt(fields[1]!.split(':')[1]!, 16));
  }
  return ports.sort((a, b) => a - b);
}

/** How many file descriptors a process holds open now. */
export function openFdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** The soft limit on open files of a process (`Max open files` in /proc/PID/limits). */
export function fdLimit(pid: number): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until a TCP connection to host:port succeeds; fails after `timeoutMs` or when `alive()` turns false. */
export async function waitUntilListening(
  host: string,
  port: number,
  alive: () => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the process exited before listening on ${host}:${port}`);
    const error = await new Promise<string | undefined>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (failure) => resolve(failure.message));
    });
    if (error === undefined) return;
    last = error;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms (${last})`);
}

/**
 * The kernel's TCP extension counters (`TcpExt:` in /proc/net/netstat), such as ListenOverflows
 * (a connection completed while the accept queue was full and was dropped), ListenDrops and
 * TCPSynRetrans. They count for the whole network namespace, not one process.
 */
export function tcpExtCounters(): Record<string, number> {
  let text: string;
  try {
    text = readFileSync('/proc/net/netstat', 'utf8');
  } catch {
    return {};
  }
  const lines = text.split('\n').filter((line) => line.startsWith('TcpExt:'));
  const names = lines[0]?.split(/\s+/).slice(1) ?? [];
  const values = lines[1]?.split(/\s+/).slice(1) ?? [];
  return Object.fromEntries(names.map((name, i) => [name, Number(values[i] ?? 0)]));
}

/** How much each of `names` grew between two readings of `tcpExtCounters()`. */
export function counterGrowth(
  before: Record<string, number>,
  after: Record<string, number>,
  names: readonly string[],
): Record<string, number> {
  return Object.fromEntries(names.map((name) => [name, (after[name] ?? 0) - (before[name] ?? 0)]));
}
