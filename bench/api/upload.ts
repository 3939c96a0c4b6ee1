import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileOnDisk, timeDigestCommand, writeRandomFile } from '../lib/files.js';
import type { FotaServer } from '../lib/fota-server.js';
import { readMemory, resetPeakRss, RssSampler, treeCpuSeconds } from '../lib/proc.js';
import { fixed, MiB, mib, progress, ratio, seconds, table } from '../lib/report.js';
import type { PartReport } from './part.js';

export const UPLOAD_BYTES = 256 * MiB;

/**
 * Part 2: a 256 MiB multipart upload streamed from disk, its wall time and the server's peak RSS,
 * against md5sum and sha256sum of the same file (the server computes both digests while storing).
 */
export async function benchUpload(server: FotaServer, prototypeId: string, folder: string): Promise<PartReport> {
  const path = join(folder, 'upload-256MiB.bin');
  progress(`part 2: writing ${mib(UPLOAD_BYTES)} of random bytes`);
  await writeRandomFile(path, UPLOAD_BYTES);
  const file = await fileOnDisk(path);
  const pid = server.child.pid;

  progress('part 2: uploading');
  const before = readMemory(pid);
  if (!before) throw new Error('cannot read /proc of the fota server');
  const peakReset = resetPeakRss(pid);
  const sampler = new RssSampler(pid);
  const cpuBefore = treeCpuSeconds(pid);
  const start = performance.now();
  const firmware = await server.upload(prototypeId, { name: 'bench upload', version: 'upload-256MiB' }, file);
  const uploadSeconds = (performance.now() - start) / 1000;
  const cpuSeconds = treeCpuSeconds(pid) - cpuBefore;
  const sampledPeak = sampler.stop();
  const after = readMemory(pid);
  if (!after) throw new Error('the fota server is gone after the upload');
  if (firmware.size !== UPLOAD_BYTES) throw new Error(`the server stored ${firmware.size} bytes, not ${UPLOAD_BYTES}`);

  progress('part 2: md5sum and sha256sum');
  const md5 = await timeDigestCommand('md5sum', path);
  const sha256 = await timeDigestCommand('sha256sum', path);
  if (md5.digest !== firmware.md5) throw new Error(`server MD5 ${firmware.md5} differs from md5sum ${md5.digest}`);
  if (sha256.digest !== firmware.sha256) {
    throw new Error(`server SHA-256 ${firmware.sha256} differs from sha256sum ${sha256.digest}`);
  }

  const row = (name: string, wall: number, cpu: number): string[] => [
    name,
    seconds(wall),
    fixed(UPLOAD_BYTES / MiB / wall, 0),
    seconds(cpu),
    ratio(uploadSeconds / wall),
    ratio(cpuSeconds / cpu),
  ];
  const peakLabel = peakReset ? 'peak RSS during upload (VmHWM)' : 'peak RSS since server start (VmHWM)';
  const text = [
    `POST /api/v1/prototypes/:pid/firmwares, multipart, ${mib(UPLOAD_BYTES)} random file streamed from disk by node:http; the server hashes MD5 + SHA-256, writes and fsyncs`,
    '',
    table(
      ['step', 'wall', 'MiB/s', 'CPU', 'fota / this, wall', 'fota / this, CPU'],
      [
        row('fota upload (server process)', uploadSeconds, cpuSeconds),
        row('md5sum', md5.seconds, md5.cpuSeconds),
        row('sha256sum', sha256.seconds, sha256.cpuSeconds),
        row('md5sum + sha256sum', md5.seconds + sha256.seconds, md5.cpuSeconds + sha256.cpuSeconds),
      ],
    ),
    '',
    table(
      ['server memory', 'value'],
      [
        ['RSS before upload (VmRSS)', mib(before.rssBytes)],
        [peakLabel, mib(after.peakRssBytes)],
        ['largest RSS sampled every 20 ms', mib(sampledPeak)],
        ['peak minus baseline', mib(after.peakRssBytes - before.rssBytes)],
        ['RSS after upload', mib(after.rssBytes)],
      ],
    ),
  ].join('\n');
  return {
    title: 'Part 2: 256 MiB upload',
    text,
    figures: {
      bytes: UPLOAD_BYTES,
      uploadSeconds,
      serverCpuSeconds: cpuSeconds,
      md5sumSeconds: md5.seconds,
      md5sumCpuSeconds: md5.cpuSeconds,
      sha256sumSeconds: sha256.seconds,
      sha256sumCpuSeconds: sha256.cpuSeconds,
      rssBeforeBytes: before.rssBytes,
      peakRssBytes: after.peakRssBytes,
      peakIsSinceStart: !peakReset,
      sampledPeakRssBytes: sampledPeak,
      rssAfterBytes: after.rssBytes,
    },
  };
}
