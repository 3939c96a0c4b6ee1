/**
 * `npm run bench:api`: the fota HTTP server, started as its own process, against a peer measured in
 * the same run: a bare node:http server (device listing), md5sum and sha256sum (upload), nginx
 * (downloads). Prints each figure and the ratio; absolute numbers vary from run to run on a shared
 * machine, the ratios much less. Every child process and temporary folder is removed on exit.
 *
 * Options: `--part listing|upload|downloads` (repeatable) runs only those parts; `--cpu-prof` starts
 * the fota server with `node --cpu-prof` and leaves its profile in `.bench/`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDownloads } from './api/downloads.js';
import { benchListing } from './api/listing.js';
import type { PartReport } from './api/part.js';
import { benchUpload, UPLOAD_BYTES } from './api/upload.js';
import { repoRoot, startFotaServer } from './lib/fota-server.js';
import { findNginx, nginxVersion } from './lib/peers.js';
import { MiB, progress } from './lib/report.js';
import { Resources } from './lib/resources.js';

/** The whole bench takes two to three minutes; past this it stops and fails. */
const WATCHDOG_MS = 6 * 60_000;

const resources = new Resources();

function abort(reason: string, exitCode: number): void {
  process.stderr.write(`\nbench:api: ${reason}; stopping child processes and removing temporary folders\n`);
  void resources.cleanup().finally(() => process.exit(exitCode));
}

function machine(nginx: string): string {
  const cpu = cpus();
  return [
    `machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, Linux ${release()}, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at start`,
    `node ${process.version}, ${nginx}`,
  ].join('\n');
}

const PARTS = ['listing', 'upload', 'downloads'] as const;
type Part = (typeof PARTS)[number];

function options(): { parts: ReadonlySet<Part>; cpuProf: boolean } {
  const { values } = parseArgs({
    options: { part: { type: 'string', multiple: true }, 'cpu-prof': { type: 'boolean', default: false } },
  });
  const chosen = values.part ?? [...PARTS];
  for (const part of chosen) {
    if (!(PARTS as readonly string[]).includes(part)) {
      throw new Error(`--part ${part}: the parts are ${PARTS.join(', ')}`);
    }
  }
  return { parts: new Set(chosen as Part[]), cpuProf: values['cpu-prof'] };
}

async function main(): Promise<void> {
  const { parts, cpuProf } = options();
  const nginxBinary = parts.has('downloads') ? findNginx() : undefined;
  const started = Date.now();
  const header = machine(nginxBinary === undefined ? 'nginx not used' : nginxVersion(nginxBinary));
  console.log(`# bench:api\n\n${header}\n`);
  const out = join(repoRoot, '.bench');
  await mkdir(out, { recursive: true });

  const root = await resources.tempDir('fota-bench-');
  const dataDir = join(root, 'data');
  const files = join(root, 'files');
  await mkdir(files, { recursive: true });
  progress('starting the fota server');
  const server = await startFotaServer(resources, dataDir, {
    maxFirmwareBytes: UPLOAD_BYTES + MiB,
    nodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${out}`] : [],
  });
  const filesPrototype = await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'bench files' });

  const reports: PartReport[] = [];
  const show = (report: PartReport) => {
    reports.push(report);
    console.log(`## ${report.title}\n\n${report.text}\n`);
  };
  if (parts.has('listing')) show(await benchListing(server, resources, files));
  if (parts.has('upload')) show(await benchUpload(server, filesPrototype.prototypeId, files));
  if (nginxBinary !== undefined) {
    show(await benchDownloads(server, resources, nginxBinary, filesPrototype.prototypeId, files));
  }
  if (cpuProf) {
    await server.child.stop();
    console.log(`fota server CPU profile written to .bench/ (CPU.*.cpuprofile)`);
  }

  const total = (Date.now() - started) / 1000;
  console.log(`total ${total.toFixed(0)} s`);
  await writeFile(
    join(out, 'api.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine: header, totalSeconds: total, parts: reports.map(({ title, figures }) => ({ title, figures })) }, null, 2)}\n`,
  );
  console.log(`figures written to .bench/api.json`);
}

process.once('SIGINT', () => abort('interrupted', 130));
process.once('SIGTERM', () => abort('terminated', 143));
const watchdog = setTimeout(() => abort(`still running after ${WATCHDOG_MS / 60_000} minutes`, 1), WATCHDOG_MS);

try {
  await main();
} catch (error) {
  process.exitCode = 1;
  process.stderr.write(`\nbench:api failed: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env['BENCH_DEBUG']) console.error(error);
} finally {
  clearTimeout(watchdog);
  await resources.cleanup();
}
