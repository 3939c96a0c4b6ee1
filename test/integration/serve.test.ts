import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, filesUnder } from '../support/data-dir.js';
import { chunksOf, streamUpload } from '../support/multipart.js';
import { testEnvironment } from '../support/server.js';

/** `fota …` as its own process, its output collected. */
interface Run {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal) once the process has ended. */
  readonly exited: Promise<number | string>;
}

const running: Run[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const run of running.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    await run.exited;
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function fota(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['bin/fota.js', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const run = { child, output: () => output, exited };
  running.push(run);
  return run;
}

/** Waits until the server answers /healthz, or fails with what it printed. */
async function ready(run: Run, env: Record<string, string>): Promise<string> {
  const url = `http://127.0.0.1:${env['FOTA_HTTP_PORT']}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (run.child.exitCode !== null) throw new Error(`fota serve exited with ${run.child.exitCode}:\n${run.output()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return url;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`fota serve did not answer within 30 s:\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves with the exit code, or with 'still running' after `ms`. */
const exitWithin = (run: Run, ms: number) => exitWithinPromise(run.exited, ms);

async function exitWithinPromise(exited: Promise<number | string>, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)));
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A test environment without a configured admin token, so the server generates one. */
async function environment(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const env = await testEnvironment({ FOTA_LOG_LEVEL: 'info', FOTA_LOG_FORMAT: 'json', ...extra });
  if (extra['FOTA_ADMIN_TOKEN'] === undefined) delete env['FOTA_ADMIN_TOKEN'];
  cleanups.push(() => rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true }));
  return env;
}

const tokenIn = (text: string): string | undefined => /\b(fota_[A-Za-z0-9_-]{43})\b/.exec(text)?.[1];

async function occupy(port: string): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), '127.0.0.1', resolve);
  });
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

async function listPrototypes(url: string, token: string): Promise<number> {
  return (await fetch(`${url}/api/v1/prototypes`, { headers: { authorization: `Bearer ${token}` } })).status;
}

async function createPrototype(url: string, token: string, name: string): Promise<string> {
  const created = await fetch(`${url}/api/v1/prototypes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  return ((await created.json()) as { prototypeId: string }).prototypeId;
}

/**
 * A firmware upload of `size` bytes that stops halfway until `release()`; resolves once the half
 * sent is in a temporary file of the data folder.
 */
async function uploadHeldHalfway(url: string, token: string, dataDir: string, size: number) {
  const prototypeId = await createPrototype(url, token, 'held');
  const content = randomBytes(size);
  let release: () => void = () => undefined;
  const halfway = new Promise<void>((resolve) => (release = resolve));
  const send = chunksOf(content, 16 * 1024);
  const upload = streamUpload(url, token, prototypeId, { name: 'fw', version: '1.0' }, content.length, async (sent) => {
    if (sent === content.length / 2) await halfway;
    return send(sent);
  });
  await eventually(
    () => filesUnder(join(dataDir, 'blobs', 'tmp')),
    (files) => files.length === 1,
  );
  return { release, done: upload.done };
}

describe('fota serve: a start that fails', () => {
  for (const variable of ['FOTA_HTTP_PORT', 'FOTA_TCP_PORT', 'FOTA_MQTT_PORT']) {
    it(`names ${variable} when its port is in use, stores no token, and the next start shows one`, async () => {
      const env = await environment();
      const blocker = await occupy(env[variable]!);
      const failed = fota(['serve'], env);
      expect(await exitWithin(failed, 30_000)).not.toBe(0);
      expect(failed.output()).toContain(`fota: ${variable} ${env[variable]} is in use`);
      expect(failed.output()).not.toMatch(/\n\s+at /); // no stack trace
      expect(tokenIn(failed.output())).toBeUndefined();

      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      const good = fota(['serve'], env);
      const url = await ready(good, env);
      const token = tokenIn(good.output());
      expect(token, good.output()).toBeDefined();
      expect(await listPrototypes(url, token!)).toBe(200);
    });
  }

  for (const host of ['999.1.1.1', '192.0.2.1']) {
    it(`names FOTA_HOST when ${host} is not an address of this machine`, async () => {
      const env = await environment({ FOTA_HOST: host });
      const failed = fota(['serve'], env);
      expect(await exitWithin(failed, 30_000)).not.toBe(0);
      expect(failed.output()).toContain(`fota: FOTA_HOST ${host} is not an address of this machine`);
      expect(failed.output()).not.toMatch(/\n\s+at /);

      const good = fota(['serve'], { ...env, FOTA_HOST: '127.0.0.1' });
      await ready(good, env);
      expect(tokenIn(good.output()), good.output()).toBeDefined();
    });
  }
});

/** A console session opened with the admin token: its cookie. */
async function adminSession(url: string, token: string): Promise<string> {
  const answer = await fetch(`${url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ adminToken: token }),
  });
  expect(answer.status).toBe(200);
  return answer.headers.get('set-cookie')!.split(';')[0]!;
}

const sessionStatus = async (url: string, cookie: string): Promise<number> =>
  (await fetch(`${url}/api/v1/prototypes`, { headers: { cookie } })).status;

describe('fota admin reset-token', () => {
  it('refuses while a server holds the data folder, then replaces the token and ends its sessions', async () => {
    const env = await environment();
    const first = fota(['serve'], env);
    const url = await ready(first, env);
    const oldToken = tokenIn(first.output())!;
    expect(oldToken).toBeDefined();
    const oldSession = await adminSession(url, oldToken);
    expect(await sessionStatus(url, oldSession)).toBe(200);

    const refused = fota(['admin', 'reset-token'], env);
    expect(await exitWithin(refused, 30_000)).not.toBe(0);
    expect(refused.output()).toContain('a fota server is using the data folder');
    expect(tokenIn(refused.output())).toBeUndefined();
    expect(await listPrototypes(url, oldToken)).toBe(200);

    first.child.kill('SIGTERM');
    expect(await exitWithin(first, 30_000)).toBe(0);
    const reset = fota(['admin', 'reset-token'], env);
    expect(await exitWithin(reset, 30_000)).toBe(0);
    const newToken = tokenIn(reset.output());
    expect(newToken, reset.output()).toBeDefined();
    expect(newToken).not.toBe(oldToken);

    const second = fota(['serve'], env);
    await ready(second, env);
    expect(tokenIn(second.output())).toBeUndefined();
    expect(await listPrototypes(url, oldToken)).toBe(401);
    expect(await listPrototypes(url, newToken!)).toBe(200);
    // The console session opened with the old token ends with it; one of the new token works.
    expect(await sessionStatus(url, oldSession)).toBe(401);
    expect(await sessionStatus(url, await adminSession(url, newToken!))).toBe(200);
  });

  it('refuses a folder without a fota database, and creates nothing there', async () => {
    const env = await environment();
    const folder = join(env['FOTA_DATA_DIR']!, 'not-the-data-folder');
    const refused = fota(['admin', 'reset-token'], { ...env, FOTA_DATA_DIR: folder });
    expect(await exitWithin(refused, 30_000)).toBe(1);
    expect(refused.output()).toContain(`fota: no fota database in ${folder}: set FOTA_DATA_DIR`);
    expect(existsSync(folder)).toBe(false);
  });
});

describe('fota serve: one server per data folder', () => {
  it('refuses a second server on the same FOTA_DATA_DIR, which keeps the first one`s upload', async () => {
    const env = await environment({ FOTA_ADMIN_TOKEN: `test_${randomBytes(24).toString('hex')}` });
    const token = env['FOTA_ADMIN_TOKEN']!;
    const first = fota(['serve'], env);
    const url = await ready(first, env);
    // An upload in progress: half of the file is on disk when the second server starts.
    const upload = await uploadHeldHalfway(url, token, env['FOTA_DATA_DIR']!, 256 * 1024);

    const other = await testEnvironment({ FOTA_DATA_DIR: env['FOTA_DATA_DIR']!, FOTA_LOG_FORMAT: 'json' });
    const second = fota(['serve'], other);
    expect(await exitWithin(second, 30_000)).not.toBe(0);
    expect(second.output()).toContain(`a fota server is using the data folder ${env['FOTA_DATA_DIR']}`);
    expect(await filesUnder(join(env['FOTA_DATA_DIR']!, 'blobs', 'tmp'))).toHaveLength(1);

    upload.release();
    const answer = await upload.done;
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  });

  it('starts again on the folder of a server that was killed with SIGKILL', async () => {
    const env = await environment();
    const first = fota(['serve'], env);
    await ready(first, env);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const second = fota(['serve'], env);
    await ready(second, env);
  });
});

describe('fota serve: the URLs devices use', () => {
  it('bases download URLs on FOTA_HTTP_PORT when FOTA_PUBLIC_URL is not set, and prints them at start', async () => {
    const env = await environment({ FOTA_ADMIN_TOKEN: `test_${randomBytes(24).toString('hex')}` });
    delete env['FOTA_PUBLIC_URL'];
    const run = fota(['serve'], env);
    const url = await ready(run, env);
    const port = env['FOTA_HTTP_PORT'];
    const headers = { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}` };
    const prototypeId = await createPrototype(url, env['FOTA_ADMIN_TOKEN']!, 'url');
    const form = new FormData();
    form.append('name', 'fw');
    form.append('version', '1.0');
    form.append('file', new Blob([randomBytes(100)]), 'fw.bin');
    const uploaded = await fetch(`${url}/api/v1/prototypes/${prototypeId}/firmwares`, {
      method: 'POST',
      headers,
      body: form,
    });
    const firmware = (await uploaded.json()) as { url: string };
    expect(firmware.url).toMatch(new RegExp(`^http://localhost:${port}/fw/F`));

    const started = run.output();
    expect(started).toContain(`"downloads":"http://localhost:${port}/fw/"`);
    expect(started).toContain(`"tcp":"127.0.0.1,${env['FOTA_TCP_PORT']}"`);
    expect(started).toContain(`"mqtt":"127.0.0.1:${env['FOTA_MQTT_PORT']}"`);
  });

  it('warns about a FOTA_* variable it does not know, naming the closest one', async () => {
    const env = await environment({ FOTA_HTTP_PROT: '1234' });
    const run = fota(['serve'], env);
    await ready(run, env);
    expect(run.output()).toContain('FOTA_HTTP_PROT');
    expect(run.output()).toContain('FOTA_HTTP_PORT');
  });
});

describe('fota serve: stopping', () => {
  it('ends on SIGINT within the grace period when nobody reads its output any more', async () => {
    const env = await environment({ FOTA_SHUTDOWN_GRACE_S: '5' });
    const run = fota(['serve'], env);
    await ready(run, env);
    run.child.stdout!.destroy(); // the reader of the pipe is gone, as `| tee` after Ctrl-C
    await new Promise((resolve) => setTimeout(resolve, 200));
    run.child.kill('SIGINT');
    expect(await exitWithin(run, 30_000)).toBe(0);
  });

  it('ends on a second SIGTERM at once, and says so', async () => {
    const env = await environment();
    const run = fota(['serve'], env);
    await ready(run, env);
    run.child.kill('SIGTERM');
    run.child.kill('SIGTERM');
    expect(await exitWithin(run, 30_000)).not.toBe('still running');
    expect(run.output()).toContain('stopping');
  });

  it('finishes an upload in flight on SIGTERM before it exits, and logs it', async () => {
    const env = await environment({ FOTA_ADMIN_TOKEN: `test_${randomBytes(24).toString('hex')}` });
    const token = env['FOTA_ADMIN_TOKEN']!;
    const run = fota(['serve'], env);
    const url = await ready(run, env);
    const upload = await uploadHeldHalfway(url, token, env['FOTA_DATA_DIR']!, 128 * 1024);
    run.child.kill('SIGTERM');
    await eventually(
      async () => run.output(),
      (output) => output.includes('stopping'),
    );
    upload.release();
    const answer = await upload.done;
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(await exitWithin(run, 30_000)).toBe(0);
    expect(run.output()).toContain('"msg":"stopped"');
  });
});

/**
 * A real terminal: `script` (util-linux, in every Debian) runs the command on a new pty, what the
 * test writes is typed on its keyboard (Ctrl-C is \x03) and the screen is what it prints.
 * `script` runs the command through $SHELL; the shell is pinned to bash because dash (/bin/sh,
 * what a CI machine without SHELL gets) stays as the parent of a single command, takes the Ctrl-C
 * too and exits 130 whatever the command did.
 */
function terminal(command: string, env: Record<string, string>) {
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, ...env, SHELL: '/bin/bash' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  child.stdout!.on('data', (chunk: Buffer) => (screen += chunk.toString().replaceAll('\r', '')));
  child.stderr!.on('data', (chunk: Buffer) => (screen += chunk.toString().replaceAll('\r', '')));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  running.push({ child, output: () => screen, exited });
  return { screen: () => screen, type: (text: string) => child.stdin!.write(text), exited };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('fota serve in a terminal', () => {
  it('ends on Ctrl-C when its output goes through `| tee`', async () => {
    const env = await environment({ FOTA_SHUTDOWN_GRACE_S: '5' });
    delete env['FOTA_LOG_FORMAT'];
    const folder = await mkdtemp(join(tmpdir(), 'fota-tee-'));
    cleanups.push(() => rm(folder, { recursive: true, force: true }));
    const pidFile = join(folder, 'pid');
    const term = terminal(
      `bash -c 'echo $$ > ${pidFile}; exec node bin/fota.js serve' 2>&1 | tee ${join(folder, 'log')}`,
      env,
    );
    const url = `http://127.0.0.1:${env['FOTA_HTTP_PORT']}`;
    await eventually(
      () =>
        fetch(`${url}/healthz`).then(
          (response) => response.ok,
          () => false,
        ),
      (ok) => ok,
      30_000,
    );
    const pid = Number(await readFile(pidFile, 'utf8'));
    cleanups.push(() => {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    term.type('\x03'); // Ctrl-C: SIGINT to node and to tee, whose end of the pipe closes
    await eventually(
      async () => alive(pid),
      (living) => !living,
      30_000,
    );
  });

  it('prints readable log lines and the admin token framed on its own', async () => {
    const env = await environment();
    delete env['FOTA_LOG_FORMAT'];
    const term = terminal('exec node bin/fota.js serve', env);
    const screen = await eventually(
      async () => term.screen(),
      (text) => text.includes('fota is serving'),
      30_000,
    );
    expect(screen).not.toContain('{"level"');
    expect(screen).toMatch(/\d\d:\d\d:\d\d INFO {2}fota is serving/);
    const token = tokenIn(screen);
    expect(token).toBeDefined();
    const lines = screen.split('\n');
    const at = lines.findIndex((line) => line.includes(token!));
    expect(lines[at - 2]).toMatch(/^\s*[╭┌+][─-]+[╮┐+]\s*$/);
    expect(lines[at + 2]).toMatch(/^\s*[╰└+][─-]+[╯┘+]\s*$/);
    expect(lines[at]).toMatch(new RegExp(`^\\s*[│|]\\s+${token}\\s+[│|]\\s*$`));

    term.type('\x03');
    expect(await exitWithinPromise(term.exited, 30_000)).toBe(0);
    expect(term.screen()).toMatch(/INFO {2}stopped\n/);
    expect(existsSync(join(env['FOTA_DATA_DIR']!, 'fota.sqlite'))).toBe(true);
  });
});
