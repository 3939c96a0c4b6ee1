import { join } from 'node:path';
import { compareDownloads, type DownloadTarget, type DownloadTotals } from '../lib/downloads.js';
import { fileOnDisk, sha256OfFile, writeRandomFile } from '../lib/files.js';
import type { FotaServer } from '../lib/fota-server.js';
import { startNginx } from '../lib/peers.js';
import { fixed, MiB, mib, progress, ratio, table } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import type { PartReport } from './part.js';

const FILE_BYTES = 4 * MiB;
/** A 1 MiB range from the middle of the file. */
const RANGE = { start: 1.5 * MiB, end: 2.5 * MiB - 1 };
const CONCURRENCY = 100;
const FULL = { concurrency: CONCURRENCY, maxRounds: 6, maxSeconds: 40 };
const PARTIAL = { concurrency: CONCURRENCY, maxRounds: 20, maxSeconds: 25 };

/**
 * Part 3: 100 concurrent downloads of a 4 MiB firmware from GET /fw/:fwId, whole and as a 1 MiB
 * range, against nginx serving the same file.
 */
export async function benchDownloads(
  server: FotaServer,
  resources: Resources,
  nginxBinary: string,
  prototypeId: string,
  folder: string,
): Promise<PartReport> {
  const path = join(folder, 'download-4MiB.bin');
  await writeRandomFile(path, FILE_BYTES);
  const firmware = await server.upload(
    prototypeId,
    { name: 'bench download', version: 'download-4MiB' },
    await fileOnDisk(path),
  );
  // nginx gets a folder of its own: its workers run as `nobody` and must be able to reach the file.
  const nginx = await startNginx(resources, nginxBinary, await resources.tempDir('fota-bench-nginx-'), path);
  const fullSha256 = await sha256OfFile(path);
  const rangeSha256 = await sha256OfFile(path, RANGE);
  if (firmware.sha256 !== fullSha256) throw new Error('the server stored other bytes than the file');

  const fotaUrl = `${server.url}/fw/${firmware.fwId}`;
  const nginxUrl = `${nginx.url}${nginx.path}`;
  const full = { status: 200, length: FILE_BYTES, sha256: fullSha256 };
  const partial = { status: 206, length: RANGE.end - RANGE.start + 1, sha256: rangeSha256 };
  const rangeHeader = { range: `bytes=${RANGE.start}-${RANGE.end}` };
  const targets = (headers: Record<string, string>, expect: DownloadTarget['expect']): DownloadTarget[] => [
    { name: 'fota', url: fotaUrl, pid: server.child.pid, headers, expect },
    { name: 'nginx', url: nginxUrl, pid: nginx.child.pid, headers, expect },
  ];

  progress(`part 3: whole downloads, at most ${FULL.maxRounds} rounds or ${FULL.maxSeconds} s`);
  const whole = await compareDownloads(targets({}, full), FULL);
  progress(`part 3: range downloads, at most ${PARTIAL.maxRounds} rounds or ${PARTIAL.maxSeconds} s`);
  const ranged = await compareDownloads(targets(rangeHeader, partial), PARTIAL);
  await nginx.child.stop();

  const throughput = (totals: DownloadTotals) => totals.bytes / MiB / totals.seconds;
  const cpuPerGiB = (totals: DownloadTotals) => totals.serverCpuSeconds / (totals.bytes / (1024 * MiB));
  const row = (kind: string, totals: DownloadTotals) => [
    kind,
    totals.name,
    String(totals.rounds),
    String(totals.downloads),
    mib(totals.bytes),
    fixed(totals.seconds, 2),
    fixed(throughput(totals), 0),
    fixed(totals.serverCpuSeconds, 2),
    fixed(cpuPerGiB(totals), 2),
    fixed(totals.clientCpuSeconds, 2),
  ];
  const [wholeFota, wholeNginx] = whole as [DownloadTotals, DownloadTotals];
  const [rangedFota, rangedNginx] = ranged as [DownloadTotals, DownloadTotals];
  const text = [
    `GET /fw/:fwId vs nginx (1 worker, sendfile), ${mib(FILE_BYTES)} file, rounds of ${CONCURRENCY} parallel downloads on a keep-alive Agent of ${CONCURRENCY} sockets, alternating which server goes first, one warm-up round each; every body's length and SHA-256 checked`,
    '',
    table(
      [
        'download',
        'server',
        'rounds',
        'downloads',
        'bytes',
        'seconds',
        'MiB/s',
        'server CPU s',
        'server CPU s per GiB',
        'client CPU s',
      ],
      [
        row('whole 4 MiB', wholeFota),
        row('whole 4 MiB', wholeNginx),
        row('range 1 MiB', rangedFota),
        row('range 1 MiB', rangedNginx),
      ],
    ),
    '',
    table(
      ['ratio fota / nginx', 'MiB/s', 'server CPU per GiB'],
      [
        [
          'whole 4 MiB',
          ratio(throughput(wholeFota) / throughput(wholeNginx)),
          ratio(cpuPerGiB(wholeFota) / cpuPerGiB(wholeNginx)),
        ],
        [
          'range 1 MiB',
          ratio(throughput(rangedFota) / throughput(rangedNginx)),
          ratio(cpuPerGiB(rangedFota) / cpuPerGiB(rangedNginx)),
        ],
      ],
    ),
  ].join('\n');
  return {
    title: 'Part 3: concurrent downloads',
    text,
    figures: { fileBytes: FILE_BYTES, range: RANGE, concurrency: CONCURRENCY, whole, ranged },
  };
}
