/**
 * `npm run bench:console`: the web console's first load. `fota serve` runs as its own process with
 * a fresh data folder and a prototype of 1,000 devices (made through the API, two thirds of them
 * reporting a version); Debian's chromium (playwright-core, a fresh profile per load) opens the
 * prototype's Devices tab and the bench measures the time from navigation to the list being
 * interactive: the last of the 1,000 rows visible and a click on it handled. The peer, in the same
 * run, is the floor: the same 1,000 rows as a bare static HTML page from a bare node:http server.
 * Prints both medians, their ratio, the console's long tasks, and its JS and CSS sizes (raw, gzip).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { repoRoot, startFotaServer, type FotaServer } from './lib/fota-server.js';
import { startConstantServer } from './lib/peers.js';
import { fixed, progress, ratio, table } from './lib/report.js';
import { Resources } from './lib/resources.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];
const DEVICES = 1000;
const RUNS = Number(/^--runs=(\d+)$/.exec(process.argv.find((arg) => arg.startsWith('--runs=')) ?? '')?.[1] ?? 7);
/** One load fails instead of waiting longer than this. */
const LOAD_TIMEOUT_MS = 60_000;
const WATCHDOG_MS = 10 * 60_000;

const resources = new Resources();

interface Device {
  readonly deviceId: string;
  readonly deviceKey: string;
  readonly name: string;
  readonly createdAt: string;
}

interface Load {
  /** From navigation start to the click on the last row handled, ms. */
  readonly interactiveMs: number;
  readonly longTasks: number;
  readonly longestTaskMs: number;
  readonly longTaskMs: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** The prototype of 1,000 devices; two thirds report 1.0 or 2.0 over the MCS device API. */
async function prepare(server: FotaServer): Promise<{ pid: string; devices: Device[] }> {
  const { prototypeId: pid } = await server.api<{ prototypeId: string }>('POST', '/prototypes', {
    name: 'bench fleet',
  });
  for (const version of ['1.0', '2.0']) {
    const bytes = Buffer.from(`bench firmware ${version}\n`.repeat(64));
    await server.upload(
      pid,
      { name: `bench-fw`, version },
      { fileName: `bench-${version}.bin`, size: bytes.length, open: () => Readable.from([bytes]) },
    );
  }
  const devices: Device[] = [];
  const names = Array.from({ length: DEVICES }, (_, i) => `device ${String(i + 1).padStart(4, '0')}`);
  // Ten requests in flight, in order of creation (the list is sorted by creation).
  for (let start = 0; start < names.length; start += 10) {
    const batch = names.slice(start, start + 10);
    const made = batch.map((name) => server.api<Device>('POST', `/prototypes/${pid}/devices`, { name }));
    devices.push(...(await Promise.all(made)));
  }
  const reports = devices.map(async (device, index) => {
    if (index % 3 === 2) return;
    const response = await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
      method: 'PUT',
      headers: { deviceKey: device.deviceKey },
      body: JSON.stringify({ version: index % 3 === 0 ? '1.0' : '2.0' }),
    });
    if (!response.ok) throw server.failure(`a version report answered ${response.status}`);
    await response.arrayBuffer();
  });
  for (let start = 0; start < reports.length; start += 50) await Promise.all(reports.slice(start, start + 50));
  return { pid, devices };
}

/** The floor: the same rows, as a plain HTML table, without scripts or stylesheets. */
function staticPage(devices: readonly Device[]): Buffer {
  const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = devices
    .map(
      (device, index) =>
        `<tr data-device="${device.deviceId}"><td><span role="img" aria-label="offline">●</span> ` +
        `<a href="/devices/${device.deviceId}">${escape(device.name)}</a></td><td><code>${device.deviceId}</code></td>` +
        `<td>${index % 3 === 2 ? 'All, N/A' : `bench-fw, ${index % 3 === 0 ? '1.0' : '2.0'}`}</td>` +
        `<td>${escape(new Date(device.createdAt).toLocaleString())}</td></tr>`,
    )
    .join('\n');
  return Buffer.from(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>devices</title></head><body>` +
      `<table aria-label="Devices"><thead><tr><th>Device</th><th>Device id</th><th>Currently use</th><th>Created</th></tr></thead>` +
      `<tbody>\n${rows}\n</tbody></table></body></html>`,
  );
}

/**
 * Run in the page before its own scripts (a string: this file is compiled without the DOM types):
 * records the long tasks and the time of the first click, from navigation start.
 */
const OBSERVE = `
  window.__bench = { clicked: -1, longTasks: [] };
  document.addEventListener('click', () => {
    if (window.__bench.clicked < 0) window.__bench.clicked = performance.now();
  }, true);
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__bench.longTasks.push(entry.duration);
    }).observe({ type: 'longtask', buffered: true });
  } catch {}
`;

/**
 * One cold load in a fresh profile: navigation to `url`, then the last row's id cell clicked as
 * soon as it is visible (playwright waits until it can receive the click).
 */
async function load(url: string, lastId: string, signIn?: { base: string; token: string }): Promise<Load> {
  const profile = await resources.tempDir('fota-bench-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  try {
    if (signIn) {
      // A session cookie before the page opens, so the load measured is the list, not the sign-in.
      const answer = await context.request.post(`${signIn.base}/api/v1/session`, {
        data: { adminToken: signIn.token },
      });
      if (!answer.ok()) throw new Error(`signing in answered ${answer.status()}: ${await answer.text()}`);
    }
    await context.addInitScript(OBSERVE);
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(LOAD_TIMEOUT_MS);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url, { waitUntil: 'commit' });
    const cell = page.locator(`tr[data-device="${lastId}"] code`);
    await cell.click();
    await page.waitForFunction('window.__bench.clicked >= 0');
    // Long tasks that end after the click still count: give them a moment to be reported.
    await page.waitForTimeout(300);
    const state = (await page.evaluate('window.__bench')) as { clicked: number; longTasks: number[] };
    if (errors.length > 0) throw new Error(`the page failed: ${errors.join('; ')}`);
    return {
      interactiveMs: state.clicked,
      longTasks: state.longTasks.length,
      longestTaskMs: Math.max(0, ...state.longTasks),
      longTaskMs: state.longTasks.reduce((sum, value) => sum + value, 0),
    };
  } finally {
    await context.close();
  }
}

/** The console's JS and CSS files named by dist/console/index.html, raw and gzip (level 9). */
function bundleSizes(): { kind: string; raw: number; gzip: number }[] {
  const dist = join(repoRoot, 'dist', 'console');
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const sizes = new Map<string, { raw: number; gzip: number }>();
  for (const file of readdirSync(join(dist, 'assets'))) {
    if (!html.includes(`/assets/${file}`)) continue;
    const kind = file.endsWith('.css') ? 'CSS' : file.endsWith('.js') ? 'JS' : undefined;
    if (kind === undefined) continue;
    const bytes = readFileSync(join(dist, 'assets', file));
    const total = sizes.get(kind) ?? { raw: 0, gzip: 0 };
    sizes.set(kind, { raw: total.raw + bytes.length, gzip: total.gzip + gzipSync(bytes, { level: 9 }).length });
  }
  // JS first, then CSS.
  return [...sizes].sort(([a], [b]) => b.localeCompare(a)).map(([kind, size]) => ({ kind, ...size }));
}

/** The commit the console was built from, and whether console/ has changes not committed yet. */
function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    const changed = git('status', '--porcelain', '--', 'console', 'src').split('\n').filter(Boolean).length;
    return `fota at ${git('rev-parse', '--short', 'HEAD')}${changed > 0 ? ` with ${changed} uncommitted files in console/ and src/` : ''}`;
  } catch {
    return 'fota (git version unknown)';
  }
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM))
    throw new Error(`bench:console needs Debian's chromium at ${CHROMIUM}: apt-get install chromium`);
  const cpu = cpus();
  console.log(
    `# bench:console\n\nmachine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, Linux ${release()}, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(
        ' ',
      )} at start\n${codeVersion()}, node ${process.version}, ${chromium.name()} at ${CHROMIUM}, ${RUNS} loads each\n`,
  );
  const root = await resources.tempDir('fota-bench-console-');
  progress('starting fota serve');
  const server = await startFotaServer(resources, join(root, 'data'), { maxFirmwareBytes: 1024 * 1024 });
  progress(`creating a prototype with ${DEVICES} devices`);
  const { pid, devices } = await prepare(server);
  const lastId = devices.at(-1)!.deviceId;
  const peer = await startConstantServer(resources, root, staticPage(devices), 'text/html; charset=utf-8');

  const fota: Load[] = [];
  const floor: Load[] = [];
  for (let run = 1; run <= RUNS; run++) {
    // Alternating, so that a busy moment of the machine hits both alike.
    fota.push(await load(`${server.url}/prototypes/${pid}/devices`, lastId, { base: server.url, token: server.token }));
    floor.push(await load(`${peer.url}/`, lastId));
    progress(
      `load ${run}/${RUNS}: console ${fixed(fota.at(-1)!.interactiveMs, 0)} ms, static page ${fixed(floor.at(-1)!.interactiveMs, 0)} ms`,
    );
  }

  const row = (name: string, loads: Load[]) => [
    name,
    fixed(median(loads.map((entry) => entry.interactiveMs)), 0),
    fixed(Math.min(...loads.map((entry) => entry.interactiveMs)), 0),
    fixed(Math.max(...loads.map((entry) => entry.interactiveMs)), 0),
    fixed(median(loads.map((entry) => entry.longTasks)), 0),
    fixed(median(loads.map((entry) => entry.longestTaskMs)), 0),
    fixed(median(loads.map((entry) => entry.longTaskMs)), 0),
  ];
  const ratioValue =
    median(fota.map((entry) => entry.interactiveMs)) / median(floor.map((entry) => entry.interactiveMs));
  const sizes = bundleSizes();
  const text = [
    `## Interactive list of ${DEVICES} devices (navigation to a handled click on the last row)\n`,
    table(
      ['page', 'median ms', 'min ms', 'max ms', 'long tasks', 'longest task ms', 'long tasks ms'],
      [row('fota console', fota), row('static HTML (bare node:http)', floor)],
    ),
    `\nratio console / static page (median): ${ratio(ratioValue)}\n`,
    `## The console's first load (dist/console)\n`,
    table(
      ['file', 'raw', 'gzip -9'],
      sizes.map((size) => [size.kind, kib(size.raw), kib(size.gzip)]),
    ),
  ].join('\n');
  console.log(text);
  await mkdir(join(repoRoot, '.bench'), { recursive: true });
  await writeFile(
    join(repoRoot, '.bench', 'console.json'),
    `${JSON.stringify({ devices: DEVICES, runs: RUNS, fota, floor, ratio: ratioValue, sizes }, null, 2)}\n`,
  );
}

const watchdog = setTimeout(() => {
  process.stderr.write(`\nbench:console: still running after ${WATCHDOG_MS / 60_000} minutes; stopping\n`);
  void resources.cleanup().finally(() => process.exit(1));
}, WATCHDOG_MS);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench:console: ${signal}; stopping child processes and removing temporary folders\n`);
    void resources.cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(
    () => 0,
    (error: unknown) => {
      process.stderr.write(
        `bench:console failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      return 1;
    },
  )
  .then(async (code) => {
    clearTimeout(watchdog);
    await resources.cleanup();
    process.exit(code);
  });
