/**
 * `npm run bench:cluster`: fota scaled out (issue "Scale out"). Part 1: ONE push to every device and
 * the device API, with one `fota serve` and with several separate ones sharing PostgreSQL, Redis and
 * an S3 bucket. Part 2: 100,000 devices (half TCP, half MQTT) held by `fota serve --workers N` on
 * this machine, RSS and CPU per device, ONE push by selection to all of them, against mosquitto
 * processes delivering the same messages. The engines come from the engines tier's starters
 * (test/services); the devices and the probe of each message from bench:push (bench/push). Downloads
 * in redirect mode are `npm run bench:downloads-redirect`. Every child process and folder is
 * removed on exit, also on error or Ctrl-C.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { PartReport } from './api/part.js';
import { startEngines, type Engines } from './cluster/engines.js';
import { largeRun } from './cluster/large.js';
import { parseOptions, type ClusterBenchOptions } from './cluster/options.js';
import { scaleRun, type ScaleFigures } from './cluster/scale.js';
import { largeReport, scaleReport } from './cluster/tables.js';
import { repoRoot } from './lib/fota-server.js';
import { progress } from './lib/report.js';
import { Resources } from './lib/resources.js';
import { findMosquitto, mosquittoVersion } from './push/mosquitto.js';
import { Swarms } from './push/swarms.js';

const resources = new Resources();
let engines: Engines | undefined;
const swarmSets: Swarms[] = [];
const reports: PartReport[] = [];
/** Failures of a part that did not stop the next one; the bench fails once every part ran. */
const failures: string[] = [];
let printed = 0;

function printReports(): void {
  for (const report of reports.slice(printed)) console.log(`## ${report.title}\n\n${report.text}\n`);
  printed = reports.length;
}

async function stop(): Promise<void> {
  for (const swarms of swarmSets.splice(0)) await swarms.close().catch(() => undefined);
  await resources.cleanup();
  await engines?.stop();
}

function abort(reason: string, exitCode: number): void {
  process.stderr.write(`\nbench:cluster: ${reason}; stopping child processes and removing temporary folders\n`);
  printReports();
  void stop().finally(() => process.exit(exitCode));
}

function header(options: ClusterBenchOptions, mosquitto: string): string {
  const cpu = cpus();
  return [
    `machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB (${(freemem() / 2 ** 30).toFixed(0)} free), Linux ${release()}, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at start`,
    `node ${process.version}, ${mosquitto}`,
    `options: part 1 ${options.skipNodes ? 'skipped' : `${options.devices} devices, 1 and ${options.nodes} nodes`}; part 2 ${options.skipLarge ? 'skipped' : `${options.large} devices, --workers ${options.workers}, ${options.swarms} swarms${options.skipPeer ? ', no peer' : ''}`}; push bound ${options.pushBoundS} s`,
  ].join('\n');
}

async function startSwarms(count: number): Promise<Swarms> {
  progress(`starting ${count} swarm processes`);
  const swarms = await Swarms.start(resources, count);
  swarmSets.push(swarms);
  return swarms;
}

async function main(options: ClusterBenchOptions): Promise<void> {
  const mosquittoBinary = options.skipLarge || options.skipPeer ? undefined : findMosquitto();
  const started = Date.now();
  const head = header(options, mosquittoBinary ? mosquittoVersion(mosquittoBinary) : 'mosquitto not used');
  console.log(`# bench:cluster\n\n${head}\n`);
  const root = await resources.tempDir('fota-bench-cluster-');
  engines = await startEngines();

  if (!options.skipNodes) {
    const swarms = await startSwarms(Math.max(5, Math.ceil(options.devices / 10_000)));
    const runs: ScaleFigures[] = [];
    try {
      for (const count of [1, options.nodes]) {
        runs.push(await scaleRun(resources, engines, swarms, root, count, options));
      }
      reports.push(scaleReport(runs));
    } catch (error) {
      // Part 2 still runs; the bench fails at the end.
      failures.push(`part 1: ${(error as Error).message}`);
      reports.push({ ...scaleReport(runs), text: `${scaleReport(runs).text}\n\nFAILED: ${(error as Error).message}` });
    }
    printReports();
    await swarms.close();
    swarmSets.splice(swarmSets.indexOf(swarms), 1);
  }
  if (!options.skipLarge) {
    const swarms = await startSwarms(options.swarms);
    reports.push(largeReport(await largeRun(resources, engines, swarms, root, options, mosquittoBinary)));
    printReports();
  }

  const total = (Date.now() - started) / 1000;
  console.log(`total ${total.toFixed(0)} s`);
  const out = join(repoRoot, '.bench');
  await mkdir(out, { recursive: true });
  await writeFile(
    join(out, 'cluster.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine: head, options, totalSeconds: total, parts: reports.map(({ title, figures }) => ({ title, figures })) }, null, 2)}\n`,
  );
  console.log('figures written to .bench/cluster.json');
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

let options: ClusterBenchOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}

process.once('SIGINT', () => abort('interrupted', 130));
process.once('SIGTERM', () => abort('terminated', 143));
// Part 1 takes a few minutes; part 2 about 20 at 100,000 devices, more on a loaded machine.
const watchdogMs =
  (options.skipNodes ? 0 : 15 * 60_000) +
  (options.skipLarge ? 0 : Math.max(10, options.large / 2500) * 60_000 + 5 * 60_000);
const watchdog = setTimeout(
  () => abort(`still running after ${Math.round(watchdogMs / 60_000)} minutes`, 1),
  watchdogMs,
);

try {
  await main(options);
} catch (error) {
  process.exitCode = 1;
  printReports();
  process.stderr.write(`\nbench:cluster failed: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env['BENCH_DEBUG']) console.error(error);
} finally {
  clearTimeout(watchdog);
  await stop();
}
