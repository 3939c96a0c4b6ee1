import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports.js';

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const BINARY = 'redis-server';

/**
 * Starts a throwaway Debian `redis-server` on a free loopback port: no persistence
 * (`--save '' --appendonly no`), a temporary folder, its pid file there. A shell guard beside it
 * stops it when the process that started it ends, however it ends.
 */
export async function startRedis(): Promise<RedisServer> {
  if (spawnSync(BINARY, ['--version']).error) {
    throw new Error(`${BINARY} is not installed: install Debian's redis-server package (apt-get install redis-server)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'fota-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      "''",
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--pidfile',
      join(dir, 'redis.pid'),
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    // The guard: redis-server in the background, killed once the starting process is gone.
    const guard = `${BINARY} ${args.join(' ')} & child=$!; trap 'kill $child 2>/dev/null' EXIT TERM INT;
      while kill -0 ${process.pid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done`;
    const child = spawn('sh', ['-c', guard], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    if (await answers(port, child)) {
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: async () => {
          await stopGuard(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await stopGuard(child);
    if (attempt >= 3) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start on 127.0.0.1:${port}: ${output}`);
    }
  }
}

/** Waits until the server answers PING with PONG, or the guard ended. */
async function answers(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const pong = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('error', () => resolve(false));
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (chunk: Buffer) => {
        socket.destroy();
        resolve(chunk.toString().startsWith('+PONG'));
      });
    });
    if (pong) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

async function stopGuard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
