/**
 * `npm run bench:downloads-redirect`: firmware downloads with S3 storage (a throwaway OpenStack
 * Swift with s3api, as the engines tests start it) against nginx serving the same file from disk,
 * in the same run: fota in redirect mode (GET /fw/:fwId answers 302 to a presigned URL, the client
 * follows it to the bucket), fota in proxy mode (fota streams the object from the bucket), nginx.
 * Rounds of 100 parallel 4 MiB downloads, alternating the order, every body's length and SHA-256
 * checked. Prints throughput and the CPU each side used; every child process and folder is removed.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startS3Server, type S3Server } from '../test/services/s3.js';
import { fileOnDisk, sha256OfFile, writeRandomFile } from './lib/files.js';
import { repoRoot, startFotaServer, type FotaServer } from './lib/fota-server.js';
import { findNginx, nginxVersion, startNginx } from './lib/peers.js';
import { ownCpuSeconds, treeCpuSeconds } from './lib/proc.js';
import { fixed, MiB, mib, progress, ratio, table } from './lib/report.js';
import { Resources } from './lib/resources.js';

const FILE_BYTES = 4 * MiB;
const CONCURRENCY = 100;
const MAX_ROUNDS = 6;
const MAX_SECONDS = 60;
const WATCHDOG_MS = 8 * 60_000;

interface Target {
  readonly name: string;
  readonly url: string;
  /** Processes whose CPU counts as serving: fota, the Swift servers, nginx. */
  readonly pids: readonly number[];
}

interface Totals {
  name: string;
  rounds: number;
  downloads: number;
  bytes: number;
  seconds: number;
  /** CPU of each group of serving processes. */
  cpu: Record<string, number>;
  clientCpu: number;
}

const resources = new Resources();

/** GETs `url`, follows one redirect, and checks the final answer's status, length and SHA-256. */
function download(agents: Map<string, Agent>, url: string, sha256: string, hops = 1): Promise<number> {
  const target = new URL(url);
  let agent = agents.get(target.host);
  if (!agent) agents.set(target.host, (agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })));
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: 120_000 }, (res) => {
      if (res.statusCode === 302 && hops > 0 && res.headers.location) {
        res.resume();
        res.once('end', () => download(agents, res.headers.location!, sha256, hops - 1).then(resolve, reject));
        return;
      }
      const hash = createHash('sha256');
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.length;
        hash.update(chunk);
      });
      res.once('error', reject);
      res.once('end', () => {
        const digest = hash.digest('hex');
        if (res.statusCode !== 200 || length !== FILE_BYTES || digest !== sha256) {
          reject(new Error(`broken answer from ${url}: status ${res.statusCode}, ${length} bytes, SHA-256 ${digest}`));
        } else {
          resolve(length);
        }
      });
    });
    req.once('timeout', () => req.destroy(new Error(`no answer from ${url} within 120 s`)));
    req.once('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed while idle: Node's documented case for one retry.
      if (req.reusedSocket && error.code === 'ECONNRESET') download(agents, url, sha256, hops).then(resolve, reject);
      else reject(new Error(`${url}: ${error.message}`));
    });
    req.end();
  });
}

async function main(): Promise<void> {
  const nginxBinary = findNginx();
  const cpu = cpus();
  const header = [
    `machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, Linux ${release()}, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at start`,
    `node ${process.version}, ${nginxVersion(nginxBinary)}, OpenStack Swift with s3api (one replica, workers = 0)`,
  ].join('\n');
  console.log(`# bench:downloads-redirect\n\n${header}\n`);

  progress('starting Swift');
  const swift: S3Server = await startS3Server();
  try {
    await swift.createBucket('fota-bench');
    const s3 = (mode: string, prefix: string): NodeJS.ProcessEnv => ({
      FOTA_S3_BUCKET: 'fota-bench',
      FOTA_S3_ENDPOINT: swift.endpoint,
      FOTA_S3_ACCESS_KEY_ID: swift.accessKeyId,
      FOTA_S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
      FOTA_S3_PREFIX: prefix,
      FOTA_DOWNLOAD_MODE: mode,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    const root = await resources.tempDir('fota-bench-redirect-');
    const file = join(root, 'download-4MiB.bin');
    await writeRandomFile(file, FILE_BYTES);
    const sha256 = await sha256OfFile(file);

    progress('starting fota in redirect and in proxy mode, both on the bucket');
    const servers: Record<string, FotaServer> = {
      redirect: await startFotaServer(resources, join(root, 'redirect'), {
        maxFirmwareBytes: 2 * FILE_BYTES,
        env: s3('redirect', 'redirect/'),
      }),
      proxy: await startFotaServer(resources, join(root, 'proxy'), {
        maxFirmwareBytes: 2 * FILE_BYTES,
        env: s3('proxy', 'proxy/'),
      }),
    };
    const urls: Record<string, string> = {};
    for (const [mode, server] of Object.entries(servers)) {
      const { prototypeId } = await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'bench' });
      const firmware = await server.upload(prototypeId, { name: 'bench', version: '1' }, await fileOnDisk(file));
      if (firmware.sha256 !== sha256) throw new Error(`fota (${mode}) stored other bytes than the file`);
      urls[mode] = `${server.url}/fw/${firmware.fwId}`;
    }
    const nginx = await startNginx(resources, nginxBinary, await resources.tempDir('fota-bench-nginx-'), file);

    const targets: Target[] = [
      { name: 'fota redirect → Swift', url: urls['redirect']!, pids: [servers['redirect']!.child.pid] },
      { name: 'fota proxy ← Swift', url: urls['proxy']!, pids: [servers['proxy']!.child.pid] },
      { name: 'nginx (disk)', url: `${nginx.url}${nginx.path}`, pids: [nginx.child.pid] },
    ];
    const groups = (target: Target): Record<string, number[]> => ({
      server: [...target.pids],
      swift: target.name.includes('Swift') ? [...swift.pids] : [],
    });
    const cpuOf = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
    const agents = targets.map(() => new Map<string, Agent>());
    const round = async (i: number) => {
      const target = targets[i]!;
      const before = Object.fromEntries(Object.entries(groups(target)).map(([name, pids]) => [name, cpuOf(pids)]));
      const clientBefore = ownCpuSeconds();
      const start = performance.now();
      const lengths = await Promise.all(
        Array.from({ length: CONCURRENCY }, () => download(agents[i]!, target.url, sha256)),
      );
      const seconds = (performance.now() - start) / 1000;
      const used = Object.fromEntries(
        Object.entries(groups(target)).map(([name, pids]) => [name, cpuOf(pids) - before[name]!]),
      );
      return {
        bytes: lengths.reduce((a, b) => a + b, 0),
        seconds,
        cpu: used,
        clientCpu: ownCpuSeconds() - clientBefore,
      };
    };

    progress('warm-up round of each');
    for (const i of targets.keys()) await round(i);
    const totals: Totals[] = targets.map((target) => ({
      name: target.name,
      rounds: 0,
      downloads: 0,
      bytes: 0,
      seconds: 0,
      cpu: { server: 0, swift: 0 },
      clientCpu: 0,
    }));
    const deadline = performance.now() + MAX_SECONDS * 1000;
    for (let r = 0; r < MAX_ROUNDS && performance.now() < deadline; r++) {
      progress(`round ${r + 1} of at most ${MAX_ROUNDS}`);
      const order = [...targets.keys()];
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        const result = await round(i);
        const total = totals[i]!;
        total.rounds++;
        total.downloads += CONCURRENCY;
        total.bytes += result.bytes;
        total.seconds += result.seconds;
        for (const [name, value] of Object.entries(result.cpu)) total.cpu[name] = (total.cpu[name] ?? 0) + value;
        total.clientCpu += result.clientCpu;
      }
    }
    for (const map of agents) for (const agent of map.values()) agent.destroy();
    const out = join(repoRoot, '.bench');
    await mkdir(out, { recursive: true });
    await writeFile(
      join(out, 'downloads-redirect.json'),
      `${JSON.stringify({ date: new Date().toISOString(), machine: header, fileBytes: FILE_BYTES, concurrency: CONCURRENCY, totals }, null, 2)}\n`,
    );

    const throughput = (t: Totals) => t.bytes / MiB / t.seconds;
    const perGiB = (value: number, t: Totals) => value / (t.bytes / (1024 * MiB));
    const nginxTotals = totals[2]!;
    console.log(
      [
        `GET of a ${mib(FILE_BYTES)} firmware, rounds of ${CONCURRENCY} parallel downloads on keep-alive Agents of ${CONCURRENCY} sockets per host (redirects followed once), alternating the order, one warm-up round each; every body's length and SHA-256 checked`,
        '',
        table(
          [
            'path',
            'rounds',
            'downloads',
            'bytes',
            'seconds',
            'MiB/s',
            'fota or nginx CPU s per GiB',
            'Swift CPU s per GiB',
            'client CPU s',
            'MiB/s / nginx',
          ],
          totals.map((t) => [
            t.name,
            String(t.rounds),
            String(t.downloads),
            mib(t.bytes),
            fixed(t.seconds, 2),
            fixed(throughput(t), 0),
            fixed(perGiB(t.cpu['server'] ?? 0, t), 3),
            t.name.includes('Swift') ? fixed(perGiB(t.cpu['swift'] ?? 0, t), 2) : '-',
            fixed(t.clientCpu, 2),
            ratio(throughput(t) / throughput(nginxTotals)),
          ]),
        ),
      ].join('\n'),
    );
    console.log('\nfigures written to .bench/downloads-redirect.json');
  } finally {
    await resources.cleanup();
    await swift.stop();
  }
}

process.once('SIGINT', () => void resources.cleanup().finally(() => process.exit(130)));
const watchdog = setTimeout(() => {
  process.stderr.write(`\nbench:downloads-redirect: still running after ${WATCHDOG_MS / 60_000} minutes\n`);
  void resources.cleanup().finally(() => process.exit(1));
}, WATCHDOG_MS);

try {
  await main();
} catch (error) {
  process.exitCode = 1;
  process.stderr.write(
    `\nbench:downloads-redirect failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
} finally {
  clearTimeout(watchdog);
}
