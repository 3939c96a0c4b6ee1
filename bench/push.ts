/**
 * `npm run bench:push`: FOTA push to many connected devices. The fota server runs as its own process;
 * the devices are raw TCP sockets and MQTT connections held by several swarm processes. Part 1 pushes
 * one firmware to every device in one request, against Debian's mosquitto fanning the same payloads
 * out to as many subscribers; part 2 ramps TCP connections on one fota process up to its file limit
 * and measures heartbeats; part 3 drops and reconnects every device at once. Prints each figure with
 * its peer or limit and the ratio. Every child process, socket and temporary folder is removed on exit.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import type { PartReport } from './api/part.js';
import { repoRoot } from './lib/fota-server.js';
import { progress } from './lib/report.js';
import { Resources } from './lib/resources.js';
import { mosquittoAnchor, type AnchorFigures } from './push/anchor.js';
import { fotaFanout } from './push/fanout.js';
import { connectFleet, prepareFleet } from './push/fleet.js';
import { connectionLimit } from './push/limit.js';
import { findMosquitto, mosquittoVersion } from './push/mosquitto.js';
import { parseOptions, type PushBenchOptions } from './push/options.js';
import { reconnectStorm } from './push/storm.js';
import { Swarms } from './push/swarms.js';
import { profileText } from './push/profile-summary.js';
import { fanoutReport, issueReport, limitReport, stormReport } from './push/tables.js';

const resources = new Resources();
let swarms: Swarms | undefined;
/** One more swarm process, used only by the probe. */
let probeSwarm: Swarms | undefined;
const reports: PartReport[] = [];
/** Problems that do not stop the bench but fail it once every part has run (storm errors). */
const failures: string[] = [];

function watchdogMs(options: PushBenchOptions): number {
  // The defaults take about 3 minutes; larger runs get proportionally more time.
  const scale = Math.max(1, options.devices / 10_000, options.maxConnections / 19_500);
  return Math.round(14 * 60_000 * scale);
}

async function stop(): Promise<void> {
  await swarms?.close().catch(() => undefined);
  await probeSwarm?.close().catch(() => undefined);
  await resources.cleanup();
}

function abort(reason: string, exitCode: number): void {
  process.stderr.write(`\nbench:push: ${reason}; stopping child processes and removing temporary folders\n`);
  printReports();
  void stop().finally(() => process.exit(exitCode));
}

/** The commit the server runs, and whether its source has changes not committed yet. */
function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    const changed = git('status', '--porcelain', '--', 'src', 'bin').split('\n').filter(Boolean).length;
    return `fota at ${git('rev-parse', '--short', 'HEAD')}${changed > 0 ? ` with ${changed} uncommitted files in src/ and bin/` : ''}`;
  } catch {
    return 'fota (git version unknown)';
  }
}

function machine(mosquitto: string, options: PushBenchOptions): string {
  const cpu = cpus();
  return [
    `machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, Linux ${release()}, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at start`,
    `${codeVersion()}, node ${process.version}, ${mosquitto}`,
    `options: ${options.devices} devices, up to ${options.maxConnections} connections, ${options.clients} swarm processes, MQTT client ${options.mqttClient}, ` +
      `push by ${options.selection}, FOTA_TCP_WRITE_GAP_MS ${options.writeGapMs ?? 'default (1000)'}${options.profileDir ? `, CPU profiles in ${options.profileDir}` : ''}`,
  ].join('\n');
}

let printed = 0;
/** Prints the reports not printed yet, parts in their numbered order. */
function printReports(): void {
  const order = (report: PartReport) => Number(/Part (\d+)/.exec(report.title)?.[1] ?? 9);
  const sorted = [...reports].sort((a, b) => order(a) - order(b));
  for (const report of sorted.slice(printed)) console.log(`## ${report.title}\n\n${report.text}\n`);
  printed = sorted.length;
}

async function main(options: PushBenchOptions): Promise<void> {
  const mosquittoBinary = options.skipFanout && options.skipStorm ? undefined : findMosquitto();
  const started = Date.now();
  const header = machine(mosquittoBinary ? mosquittoVersion(mosquittoBinary) : 'mosquitto not used', options);
  console.log(`# bench:push\n\n${header}\n`);

  const root = await resources.tempDir('fota-bench-push-');
  progress(`starting ${options.clients} swarm processes`);
  swarms = await Swarms.start(resources, options.clients);
  probeSwarm = await Swarms.start(resources, 1);

  if (!options.skipFanout || !options.skipStorm) {
    const fleet = await prepareFleet(resources, swarms, options, root);
    const connect = await connectFleet(fleet, swarms, options);
    const fota = options.skipFanout ? undefined : await fotaFanout(fleet, swarms, probeSwarm, options.selection);
    let storm;
    if (!options.skipStorm) {
      fleet.profiler?.start('storm');
      storm = await reconnectStorm(swarms, fleet.server.child.pid, fleet.devices.length, fleet);
      await fleet.profiler?.stop();
    }
    if (storm && storm.errors > 0) {
      progress(`storm: ${storm.errors} errors (first: ${storm.firstError})`);
      failures.push(`the reconnect storm had ${storm.errors} errors; the first: ${storm.firstError}`);
    }
    await swarms.all(() => ({ cmd: 'close' }), 60_000);
    await fleet.server.child.stop();

    let anchor: AnchorFigures | undefined;
    if (mosquittoBinary) {
      anchor = await mosquittoAnchor(
        resources,
        swarms,
        options,
        mosquittoBinary,
        fleet,
        { fanout: !options.skipFanout, storm: !options.skipStorm },
        probeSwarm,
      );
    }
    if (fota) reports.push(fanoutReport(fleet, connect, fota, anchor, options));
    if (storm) reports.push(stormReport(storm, connect, anchor?.storm));
    reports.push(issueReport(connect, fota, anchor, storm));
    for (const { label, file } of fleet.profiler?.files ?? []) {
      reports.push({
        title: `Profile of the fota server: ${label} (${file})`,
        text: profileText(file),
        figures: { file },
      });
    }
  }
  if (!options.skipLimit) reports.push(limitReport(await connectionLimit(resources, swarms, options, root)));
  printReports();

  const total = (Date.now() - started) / 1000;
  console.log(`total ${total.toFixed(0)} s`);
  const out = join(repoRoot, '.bench');
  await mkdir(out, { recursive: true });
  await writeFile(
    join(out, 'push.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine: header, options, totalSeconds: total, parts: reports.map(({ title, figures }) => ({ title, figures })) }, null, 2)}\n`,
  );
  console.log('figures written to .bench/push.json');
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

let options: PushBenchOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}

process.once('SIGINT', () => abort('interrupted', 130));
process.once('SIGTERM', () => abort('terminated', 143));
const watchdogLimit = watchdogMs(options);
const watchdog = setTimeout(
  () => abort(`still running after ${Math.round(watchdogLimit / 60_000)} minutes`, 1),
  watchdogLimit,
);

try {
  await main(options);
} catch (error) {
  process.exitCode = 1;
  printReports();
  process.stderr.write(`\nbench:push failed: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env['BENCH_DEBUG']) console.error(error);
} finally {
  clearTimeout(watchdog);
  await stop();
}
