import { randomBytes } from 'node:crypto';
import { fileInMemory } from '../lib/files.js';
import { REQUEST_TIMEOUT_MS, type FotaServer } from '../lib/fota-server.js';
import { loadWithAutocannon, type LoadResult } from '../lib/load.js';
import { startConstantServer } from '../lib/peers.js';
import { fixed, progress, ratio, table } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import type { PartReport } from './part.js';

const FIRMWARES = 200;
const FIRMWARE_BYTES = 1024;
const UPLOAD_CONCURRENCY = 4;
const LOAD = { connections: 4, seconds: 10, warmupSeconds: 2 };

interface DeviceAnswer {
  readonly deviceId: string;
  readonly deviceKey: string;
}

/** Uploads `count` small distinct firmwares, all with prerequisites `all`, a few at a time. */
async function uploadSmallFirmwares(server: FotaServer, prototypeId: string, count: number): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await server.upload(
        prototypeId,
        { name: `listing ${i}`, version: `1.0.${i}`, releaseNote: `bench firmware ${i}`, prerequisites: 'all' },
        fileInMemory(`fw-${i}.bin`, randomBytes(FIRMWARE_BYTES)),
      );
      if (++done % 50 === 0) progress(`part 1: ${done} firmwares uploaded`);
    }
  };
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker));
}

/**
 * Part 1: GET /mcs/v2/devices/:id/firmwares/available for a prototype with 200 firmwares, against a
 * bare node:http server answering the same bytes.
 */
export async function benchListing(server: FotaServer, resources: Resources, folder: string): Promise<PartReport> {
  const prototype = await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'bench listing' });
  progress(`part 1: uploading ${FIRMWARES} firmwares of ${FIRMWARE_BYTES} bytes`);
  await uploadSmallFirmwares(server, prototype.prototypeId, FIRMWARES);
  const device = await server.api<DeviceAnswer>('POST', `/prototypes/${prototype.prototypeId}/devices`, {
    name: 'bench device',
  });
  const deviceUrl = `${server.url}/mcs/v2/devices/${device.deviceId}`;
  const headers = { deviceKey: device.deviceKey };
  const reported = await fetch(`${deviceUrl}/firmwares`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ version: '1.0.0' }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (reported.status !== 200) {
    throw server.failure(`reporting version 1.0.0 answered ${reported.status}: ${await reported.text()}`);
  }

  const listing = await fetch(`${deviceUrl}/firmwares/available`, {
    headers,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = await listing.text();
  const results = (JSON.parse(body) as { results?: unknown[] }).results;
  if (listing.status !== 200 || results?.length !== FIRMWARES - 1) {
    throw server.failure(
      `the listing answered ${listing.status} with ${results?.length} firmwares, expected ${FIRMWARES - 1}`,
    );
  }
  const bodyBytes = Buffer.byteLength(body);
  const bare = await startConstantServer(resources, folder, Buffer.from(body));

  progress(`part 1: loading fota for ${LOAD.warmupSeconds} + ${LOAD.seconds} s`);
  const fota = await loadWithAutocannon(
    { name: 'fota', url: `${deviceUrl}/firmwares/available`, pid: server.child.pid, headers, body },
    LOAD,
  );
  progress(`part 1: loading the bare node:http server for ${LOAD.warmupSeconds} + ${LOAD.seconds} s`);
  const peer = await loadWithAutocannon(
    { name: 'bare node:http', url: `${bare.url}/`, pid: bare.child.pid, headers: {}, body },
    LOAD,
  );
  await bare.child.stop();

  const row = (result: LoadResult) => [
    result.name,
    String(result.requests),
    fixed(result.requestsPerSecond, 0),
    fixed(result.p50Ms, 2),
    fixed(result.p99Ms, 2),
    fixed(result.serverCpuSeconds, 2),
    fixed(result.requests / Math.max(result.serverCpuSeconds, 0.01), 0),
    fixed(result.clientCpuSeconds, 2),
  ];
  const cpuPerRequest = (result: LoadResult) => result.serverCpuSeconds / result.requests;
  const text = [
    `GET /mcs/v2/devices/:id/firmwares/available: ${FIRMWARES} firmwares, ${FIRMWARES - 1} listed, ${bodyBytes}-byte body; autocannon ${LOAD.connections} connections, ${LOAD.seconds} s after ${LOAD.warmupSeconds} s warm-up; every body checked; latencies in whole ms as autocannon counts them`,
    '',
    table(
      ['server', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'server CPU s', 'req per server CPU s', 'client CPU s'],
      [row(fota), row(peer)],
    ),
    '',
    table(
      ['ratio fota / bare', 'value'],
      [
        ['req/s', ratio(fota.requestsPerSecond / peer.requestsPerSecond)],
        [
          'p99 latency',
          // autocannon counts whole milliseconds: a 0 ms p99 means under 1 ms, so the ratio is a floor.
          peer.p99Ms < 1 ? `≥ ${ratio(fota.p99Ms)}` : ratio(fota.p99Ms / peer.p99Ms),
        ],
        ['server CPU per request', ratio(cpuPerRequest(fota) / cpuPerRequest(peer))],
      ],
    ),
  ].join('\n');
  return { title: 'Part 1: firmware listing', text, figures: { bodyBytes, load: LOAD, fota, bare: peer } };
}
