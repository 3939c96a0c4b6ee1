import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { freePort } from '../support/ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A throwaway PostgreSQL server on loopback, for one test run. */
export interface PostgresServer {
  /** `postgres://fota@127.0.0.1:PORT/postgres`: the superuser `fota`, no password (trust). */
  readonly url: string;
  stop(): Promise<void>;
}

/** Debian's binaries: /usr/lib/postgresql/<newest>/bin. */
function binaries(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed: the engines tier needs /usr/lib/postgresql/<version>/bin/{initdb,postgres}, from the Debian package postgresql (apt-get install postgresql)',
    );
  }
  return join(root, versions[0]!, 'bin');
}

/** PostgreSQL refuses to run as root: as root, it runs as the `postgres` user (or `nobody`). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const users = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'));
  const user = users.find((fields) => fields[0] === 'postgres') ?? users.find((fields) => fields[0] === 'nobody');
  if (!user) throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
  return { uid: Number(user[2]), gid: Number(user[3]) };
}

/**
 * Kills the server when this process ends without stopping it (a crashed or killed test run), and
 * removes its folder: a watchdog of its own, not tied to this process's lifetime.
 */
function watchdog(serverPid: number, dir: string): void {
  const script = `
    const [parent, server, dir] = process.argv.slice(1);
    const alive = (pid) => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
    const timer = setInterval(() => {
      if (!alive(server)) { clearInterval(timer); return; }
      if (alive(parent)) return;
      try { process.kill(Number(server), 'SIGQUIT'); } catch {}
      setTimeout(() => { require('node:fs').rmSync(dir, { recursive: true, force: true }); process.exit(0); }, 2000);
      clearInterval(timer);
    }, 500);`;
  const child = spawn(process.execPath, ['-e', script, String(process.pid), String(serverPid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

/**
 * initdb into a temporary folder (trust authentication for the superuser `fota`), then `postgres`
 * on a free loopback port with its socket in that folder; fsync off, since a test run need not
 * survive a power cut. Resolves once it accepts connections.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = binaries();
  const dir = await mkdtemp(join(tmpdir(), 'fota-postgres-'));
  const user = runAs();
  if (user) await chown(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const initdb = spawnSync(
    join(bin, 'initdb'),
    [
      ...['-D', data, '--auth=trust', '-U', 'fota', '--encoding=UTF8', '--no-sync', '--no-instructions'],
      // A language collation by default, as most servers have: text that must sort byte by byte says so.
      ...['--locale=C.UTF-8', '--locale-provider=icu', '--icu-locale=en-US'],
    ],
    { ...user, encoding: 'utf8', cwd: dir },
  );
  if (initdb.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${initdb.status}):\n${initdb.stdout}\n${initdb.stderr}`);
  }
  const port = await freePort();
  const args = ['-D', data, '-k', dir, '-p', String(port), '-h', '127.0.0.1'];
  for (const setting of ['fsync=off', 'full_page_writes=off', 'max_connections=300', 'log_min_messages=fatal']) {
    args.push('-c', setting);
  }
  let output = '';
  const server: ChildProcess = spawn(join(bin, 'postgres'), args, {
    ...user,
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  watchdog(server.pid!, dir);
  const url = `postgres://fota@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGINT'); // fast shutdown: sessions are ended, nothing is waited for
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) {
      await stop();
      throw new Error(`postgres exited with ${server.exitCode}:\n${output}`);
    }
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`postgres did not accept connections within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, stop };
}

/** A new, empty database on the server, for one test or one test file; its URL. */
export async function createDatabase(serverUrl: string): Promise<string> {
  const name = `fota_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by `createDatabase`, ending the sessions still on it. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}
