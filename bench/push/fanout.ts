import { performance } from 'node:perf_hooks';
import { REQUEST_TIMEOUT_MS } from '../lib/fota-server.js';
import { progress } from '../lib/report.js';
import { fleetExpectation, type Fleet } from './fleet.js';
import { sleep } from './measure.js';
import { expectFota, measureDelivery, type DeliveryFigures } from './phases.js';
import type { Swarms } from './swarms.js';

export interface FotaFanout extends DeliveryFigures {
  readonly devices: number;
  /** Milliseconds from sending the push request to its whole 201 answer. */
  readonly answerMs: number;
  readonly answerBytes: number;
  /** Milliseconds the last `GET /api/v1/pushes/:id` took, once every device was done. */
  readonly getMs: number;
  /** Counts per status in the push answer, and once every MQTT device acknowledged. */
  readonly answerCounts: Record<string, number>;
  readonly finalCounts: Record<string, number>;
}

interface PushAnswer {
  readonly pushId: string;
  readonly counts: Record<string, number>;
}

/**
 * Part 1, fota side: one `POST /api/v1/firmwares/:fwId/push` for every fleet device, all online.
 * Every swarm device checks its FOTA message and records when it arrived.
 */
export async function fotaFanout(fleet: Fleet, swarms: Swarms): Promise<FotaFanout> {
  const { server } = fleet;
  const deviceIds = fleet.devices.map((device) => device.id);
  const waiting = await expectFota(swarms, fleetExpectation(fleet, Date.now()));
  if (waiting !== deviceIds.length) throw new Error(`only ${waiting} of ${deviceIds.length} devices are connected`);

  let answer: PushAnswer | undefined;
  let answerMs = NaN;
  let answerBytes = 0;
  progress(`part 1: pushing ${fleet.to.version} to ${deviceIds.length} devices in one request`);
  const delivery = await measureDelivery(swarms, server.child.pid, 120_000, async () => {
    const start = performance.now();
    const response = await fetch(`${server.url}/api/v1/firmwares/${fleet.to.fwId}/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceIds }),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await response.text();
    answerMs = performance.now() - start;
    answerBytes = Buffer.byteLength(text);
    if (response.status !== 201) throw server.failure(`the push answered ${response.status}: ${text.slice(0, 500)}`);
    answer = JSON.parse(text) as PushAnswer;
  });
  if (!answer) throw new Error('the push did not answer');
  if (delivery.all.count !== deviceIds.length || delivery.bad.length > 0) {
    throw server.failure(
      `${delivery.all.count} of ${deviceIds.length} devices received a well-formed FOTA message; problems:\n  ${delivery.bad.join('\n  ')}`,
    );
  }

  // TCP targets stay `sent`; MQTT ones become `delivered` once the device's PUBACK was recorded.
  const tcp = fleet.devices.filter((device) => device.protocol === 'tcp').length;
  const mqtt = deviceIds.length - tcp;
  let finalCounts: Record<string, number> = {};
  let getMs = NaN;
  const deadline = Date.now() + REQUEST_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const start = performance.now();
    finalCounts = (await server.api<PushAnswer>('GET', `/pushes/${answer.pushId}`)).counts;
    getMs = performance.now() - start;
    if (finalCounts['sent'] === tcp && finalCounts['delivered'] === mqtt) break;
    await sleep(1000);
  }
  if (finalCounts['sent'] !== tcp || finalCounts['delivered'] !== mqtt) {
    throw server.failure(`expected ${tcp} sent and ${mqtt} delivered, the push shows ${JSON.stringify(finalCounts)}`);
  }
  return {
    ...delivery,
    devices: deviceIds.length,
    answerMs,
    getMs,
    answerBytes,
    answerCounts: answer.counts,
    finalCounts,
  };
}
