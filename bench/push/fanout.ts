import { performance } from 'node:perf_hooks';
import { REQUEST_TIMEOUT_MS } from '../lib/fota-server.js';
import { progress } from '../lib/report.js';
import { fleetExpectation, type Fleet } from './fleet.js';
import { sleep } from './measure.js';
import { expectFota, measureDelivery, type DeliveryFigures, type ProbeRun } from './phases.js';
import type { ProbeOptions, Receipt } from './protocol.js';
import type { Swarms } from './swarms.js';

/** MQTT pings of the probe go out this often; HTTP requests and TCP heartbeats further apart, to cost the server less. */
export const PROBE_INTERVAL_MS = 10;
export const PROBE_HTTP_INTERVAL_MS = 20;
/** Over PROBE_TCP_DEVICES (80) devices, each heartbeats every 4 s, more than the write gap. */
export const PROBE_TCP_INTERVAL_MS = 50;
/** Targets per `GET /pushes/:id/targets` page (the API's most). */
const TARGET_PAGE = 500;

export interface FotaFanout extends DeliveryFigures {
  readonly devices: number;
  readonly selection: 'ids' | 'online';
  /** Milliseconds from sending the push request to its whole 201 answer. */
  readonly answerMs: number;
  readonly answerBytes: number;
  /** The summary the push answered: status, total and counts per status. */
  readonly answer: PushSummary;
  /** The summary once every device was done, and what `GET /api/v1/pushes/:id` took then. */
  readonly final: PushSummary;
  readonly getMs: number;
  /** Paging through `GET /pushes/:id/targets` once every device was done. */
  readonly targetPages: { readonly pages: number; readonly totalMs: number; readonly maxPageMs: number };
  /** TCP devices that read a heartbeat echo less than the write gap before the push, or during it. */
  readonly tcpEchoedWithinGap: number;
  readonly writeGapMs: number;
  /** Distinct download tokens among the receipts. */
  readonly distinctTokens: number;
}

export interface PushSummary {
  readonly pushId: string;
  readonly status: string;
  readonly total: number;
  readonly selection: string;
  readonly counts: Record<string, number>;
}

interface TargetPage {
  readonly targets: readonly { readonly deviceId: string; readonly status: string }[];
  readonly nextCursor: string | null;
}

/** What the probe measures on the fleet's fota server: HTTP, one MQTT device, the TCP probe devices. */
export function fotaProbe(fleet: Fleet): ProbeOptions {
  const { server, probeDevices } = fleet;
  return {
    intervalMs: PROBE_INTERVAL_MS,
    http: { url: `${server.url}/healthz`, intervalMs: PROBE_HTTP_INTERVAL_MS },
    mqtt: { host: '127.0.0.1', port: server.mqttPort, device: probeDevices.mqtt },
    tcp: { host: '127.0.0.1', port: server.tcpPort, devices: probeDevices.tcp, intervalMs: PROBE_TCP_INTERVAL_MS },
  };
}

/** Throws unless the tokens are as many as the receipts (one unguessable URL per device). */
export function distinctTokens(receipts: readonly Receipt[], what: string): number {
  const distinct = new Set(receipts.map((receipt) => receipt.token)).size;
  if (distinct !== receipts.length) throw new Error(`${what}: ${receipts.length} URLs but ${distinct} distinct tokens`);
  return distinct;
}

/** Pages through the push's targets; throws unless every fleet device is there once, in `expected` status. */
async function checkTargets(fleet: Fleet, pushId: string, expected: (protocol: 'tcp' | 'mqtt') => string) {
  const { server } = fleet;
  const wanted = new Map(fleet.devices.map((device) => [device.id, expected(device.protocol)]));
  const seen = new Set<string>();
  let cursor: string | null = null;
  let pages = 0;
  let totalMs = 0;
  let maxPageMs = 0;
  do {
    const query = `limit=${TARGET_PAGE}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const start = performance.now();
    const page: TargetPage = await server.api<TargetPage>('GET', `/pushes/${pushId}/targets?${query}`);
    const ms = performance.now() - start;
    pages++;
    totalMs += ms;
    maxPageMs = Math.max(maxPageMs, ms);
    if (page.targets.length > TARGET_PAGE) throw new Error(`a targets page held ${page.targets.length} targets`);
    for (const target of page.targets) {
      const status = wanted.get(target.deviceId);
      if (status === undefined || seen.has(target.deviceId)) {
        throw server.failure(`the targets list ${target.deviceId} ${status === undefined ? 'unexpectedly' : 'twice'}`);
      }
      if (target.status !== status) throw server.failure(`${target.deviceId} is ${target.status}, not ${status}`);
      seen.add(target.deviceId);
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  if (seen.size !== wanted.size) throw server.failure(`the targets listed ${seen.size} of ${wanted.size} devices`);
  return { pages, totalMs, maxPageMs };
}

/**
 * Part 1, fota side: one `POST /api/v1/firmwares/:fwId/push` for every fleet device, all online, by
 * ids or by `selection: "online"`. Every swarm device checks its FOTA message and records when it
 * arrived; the probe times HTTP, MQTT pings and TCP heartbeats meanwhile.
 */
export async function fotaFanout(
  fleet: Fleet,
  swarms: Swarms,
  probeSwarm: Swarms,
  selection: 'ids' | 'online',
): Promise<FotaFanout> {
  const { server } = fleet;
  const deviceIds = fleet.devices.map((device) => device.id);
  const waiting = await expectFota(swarms, fleetExpectation(fleet, Date.now()));
  if (waiting !== deviceIds.length) throw new Error(`only ${waiting} of ${deviceIds.length} devices are connected`);

  let answer: PushSummary | undefined;
  let answerMs = NaN;
  let answerBytes = 0;
  const body = selection === 'online' ? { selection: 'online' } : { deviceIds };
  const probe: ProbeRun = { swarms: probeSwarm, options: fotaProbe(fleet) };
  progress(`part 1: pushing ${fleet.to.version} to ${deviceIds.length} devices in one request (${selection})`);
  const delivery = await measureDelivery(
    swarms,
    server.child.pid,
    120_000,
    async () => {
      fleet.profiler?.start('push');
      const start = performance.now();
      const response = await fetch(`${server.url}/api/v1/firmwares/${fleet.to.fwId}/push`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await response.text();
      answerMs = performance.now() - start;
      answerBytes = Buffer.byteLength(text);
      if (response.status !== 201) throw server.failure(`the push answered ${response.status}: ${text.slice(0, 500)}`);
      answer = JSON.parse(text) as PushSummary;
    },
    probe,
    async () => {
      await fleet.profiler?.stop();
    },
  );
  if (!answer) throw new Error('the push did not answer');
  if (answer.total !== deviceIds.length) {
    throw server.failure(`the push answered total ${answer.total}, not ${deviceIds.length}`);
  }
  if (delivery.all.count !== deviceIds.length || delivery.bad.length > 0) {
    throw server.failure(
      `${delivery.all.count} of ${deviceIds.length} devices received a well-formed FOTA message; problems:\n  ${delivery.bad.join('\n  ')}`,
    );
  }
  if (delivery.probe && delivery.probe.errors.length > 0) {
    throw server.failure(`the probe failed: ${delivery.probe.errors.join('; ')}`);
  }
  const tokens = distinctTokens(delivery.receipts, 'fota');
  const tcpEchoedWithinGap = delivery.receipts.filter(
    (receipt) =>
      receipt.protocol === 'tcp' &&
      receipt.lastEchoAt !== undefined &&
      receipt.lastEchoAt > delivery.start - fleet.writeGapMs,
  ).length;

  // TCP targets stay `sent`; MQTT ones become `delivered` once the device's PUBACK was recorded.
  const tcp = fleet.devices.filter((device) => device.protocol === 'tcp').length;
  const mqtt = deviceIds.length - tcp;
  let final: PushSummary | undefined;
  let getMs = NaN;
  const deadline = Date.now() + REQUEST_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const start = performance.now();
    final = await server.api<PushSummary>('GET', `/pushes/${answer.pushId}`);
    getMs = performance.now() - start;
    if (final.counts['sent'] === tcp && final.counts['delivered'] === mqtt) break;
    await sleep(1000);
  }
  if (final?.counts['sent'] !== tcp || final.counts['delivered'] !== mqtt) {
    throw server.failure(`expected ${tcp} sent and ${mqtt} delivered, the push shows ${JSON.stringify(final?.counts)}`);
  }
  const targetPages = await checkTargets(fleet, answer.pushId, (protocol) =>
    protocol === 'tcp' ? 'sent' : 'delivered',
  );
  const { receipts: _receipts, start: _start, ...figures } = delivery;
  return {
    ...figures,
    devices: deviceIds.length,
    selection,
    answerMs,
    answerBytes,
    answer,
    final,
    getMs,
    targetPages,
    tcpEchoedWithinGap,
    writeGapMs: fleet.writeGapMs,
    distinctTokens: tokens,
  };
}
