import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLoopbackFota, until, type LoopbackFota } from '../simulator/testing/loopback-fota.js';

/** `fota simulate` in a child process, as a user runs it (through tsx, like bin/fota.js). */

const repoRoot = new URL('../..', import.meta.url);

interface Child {
  readonly process: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function simulate(args: readonly string[], env: Record<string, string>): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/testing/simulate-cli.ts', 'simulate', ...args],
    // Only the variables given: nothing of this process's environment (FOTA_* least of all).
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const run: Child = {
    process: child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    }),
  };
  child.stdout.setEncoding('utf8').on('data', (text: string) => (run.stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (run.stderr += text));
  return run;
}

let fota: LoopbackFota;
let env: Record<string, string>;

beforeEach(async () => {
  fota = await startLoopbackFota();
  fota.versions.push('1.0', '2.0');
  env = { FOTA_URL: fota.url, FOTA_TOKEN: fota.token, FOTA_MQTT_URL: fota.mqttUrl };
});

afterEach(async () => {
  await fota.stop();
});

// Each run is a new Node process compiling TypeScript through tsx: give them time.
describe('fota simulate', { timeout: 60_000 }, () => {
  it('runs for --duration and prints the summary as JSON', async () => {
    const run = simulate(['--prototype', fota.prototypeId, '--devices', '3', '--duration', '0.5', '--json'], env);
    expect(await run.exited, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      prototypeId: fota.prototypeId,
      startVersion: '1.0',
      protocol: 'mix',
      devices: { tcp: 2, mqtt: 1 },
      failed: 0,
      versions: { '1.0': 3 },
    });
    expect(run.stderr).toContain(`Simulating 3 devices of ${fota.prototypeId} (tcp 2, mqtt 1) from version 1.0`);
    expect(fota.devices.map((device) => device.name)).toEqual(['sim-0001', 'sim-0002', 'sim-0003']);
  });

  it('stops cleanly on Ctrl-C, closing every socket, and prints a readable summary', async () => {
    const run = simulate(['--prototype', fota.prototypeId, '--devices', '2', '--protocol', 'tcp'], env);
    await until(() => fota.livePeers().length === 2, 'both devices connected', 30_000);
    run.process.kill('SIGINT');
    expect(await run.exited, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Simulated 2 devices of ${fota.prototypeId}`);
    expect(run.stdout).toMatch(/versions now\s+1\.0 ×2/);
    await until(() => fota.livePeers().length === 0, 'sockets closed');
  });

  it.each([
    [['--devices', '0'], /--devices.*whole number/],
    [['--protocol', 'udp'], /--protocol.*Allowed choices are tcp, mqtt, mix/],
    [['--duration', 'soon'], /--duration.*seconds/],
  ])('refuses %j as a usage error: one line, a hint, exit status 2', async (args, message) => {
    const run = simulate(['--prototype', fota.prototypeId, ...args], env);
    expect(await run.exited).toBe(2);
    expect(run.stderr.split('\n')).toEqual([expect.stringMatching(/; run fota simulate --help$/), '']);
    expect(run.stderr).toMatch(message);
    expect(fota.requests).toEqual([]);
  });

  it('says what to do without a token', async () => {
    const run = simulate(['--prototype', fota.prototypeId], { FOTA_URL: fota.url });
    expect(await run.exited).toBe(1);
    expect(run.stderr).toContain('fota: no administrator token');
  });

  it('says what to do when the prototype has no firmware', async () => {
    fota.versions.length = 0;
    const run = simulate(['--prototype', fota.prototypeId], env);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toMatch(/fota: prototype PLoopback001 has no firmware yet: upload one first/);
  });
});
