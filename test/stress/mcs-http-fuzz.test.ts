import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzTarget, printFigures, STRESS_SEED } from '../support/stress.js';

const CASES = 900;
const PARALLEL = 8;

const target = fuzzTarget('http fuzz');

interface DeviceRequest {
  readonly method: string;
  readonly path: string;
  readonly key: string | undefined;
  readonly body: string | undefined;
}

/** Requests to the MCS device API, right and wrong, as devices and scanners send them. */
function requests(valid: { deviceId: string; deviceKey: string }) {
  const segment = fc.string({ maxLength: 30 }).map(encodeURIComponent);
  // Mostly the valid device with its key, so that the routes behind authentication are reached.
  const id = fc.oneof(
    { weight: 6, arbitrary: fc.constant(valid.deviceId) },
    { weight: 1, arbitrary: fc.stringMatching(/^D[A-Za-z0-9]{7}$/) },
    { weight: 1, arbitrary: segment },
  );
  // Mostly each route with its own method, so that the handlers behind the router are reached.
  const route = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        ['PUT', 'firmwares'],
        ['GET', 'firmwares/available'],
        ['GET', 'firmwares/available?url=true'],
        ['POST', 'datapoints'],
        ['POST', 'datapoints.csv'],
        ['GET', 'connections'],
        ['GET', 'connections.csv'],
      ),
    },
    { weight: 2, arbitrary: segment.map((version) => ['GET', `firmwares/available/${version}`]) },
    { weight: 1, arbitrary: segment.map((fwId) => ['GET', `firmwares/${fwId}/url`]) },
    { weight: 1, arbitrary: segment.map((rest) => ['GET', rest]) },
  );
  // Now and then another method than the route's.
  const method = fc.oneof(
    { weight: 8, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH') },
  );
  const path = fc.tuple(id, route, fc.boolean(), method).map(([deviceId, [routeMethod, rest], doubled, other]) => ({
    method: other ?? routeMethod!,
    path: `/mcs/v2${doubled ? '//' : '/'}devices/${deviceId}/${rest}`,
  }));
  const key = fc.option(
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(valid.deviceKey) },
      { weight: 1, arbitrary: fc.constant(`'${valid.deviceKey}'`) },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9'" ]{0,24}$/) },
    ),
    { freq: 8 },
  );
  const body = fc.option(
    fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.constantFrom('{"version":"1"}', '{"version":1}', '{"version":null}', '[]', 'null', '{'),
      fc
        .array(fc.tuple(fc.string({ maxLength: 70 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 30 })), {
          maxLength: 7,
        })
        .map((lines) => lines.map((fields) => fields.join(',')).join('\n')),
      fc
        .array(fc.record({ dataChnId: fc.anything(), timestamp: fc.anything(), values: fc.anything() }), {
          maxLength: 7,
        })
        .map((datapoints) => JSON.stringify({ datapoints })),
    ),
  );
  return fc
    .tuple(path, key, body)
    .map(([p, k, b]): DeviceRequest => ({ ...p, key: k ?? undefined, body: b ?? undefined }));
}

async function send(request: DeviceRequest): Promise<number> {
  const response = await fetch(`${target.server.child.url}${request.path}`, {
    method: request.method,
    headers: request.key === undefined ? {} : { deviceKey: request.key },
    body: request.method === 'GET' ? undefined : request.body,
  });
  await response.arrayBuffer();
  return response.status;
}

describe('MCS HTTP device API fuzz', () => {
  it('answers every case below 500, still serves a valid device after, and prints its figures', async () => {
    const { server, device } = target;
    const rssBefore = await server.rssMiB();
    const cases = fc.sample(requests(device), { seed: STRESS_SEED, numRuns: CASES });
    const statuses = new Map<number, number>();
    const serverErrors: string[] = [];
    let tried = 0;
    let crashes = 0;
    for (let start = 0; start < cases.length && crashes === 0; start += PARALLEL) {
      const batch = cases.slice(start, start + PARALLEL);
      const answers = await Promise.all(batch.map((request) => send(request).catch(() => 0)));
      answers.forEach((status, i) => {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status >= 500 || status === 0) serverErrors.push(`${status} ${JSON.stringify(batch[i])}`);
      });
      tried += batch.length;
      if (!server.alive()) crashes++;
    }
    const after = await fetch(`${server.child.url}/mcs/v2/devices/${device.deviceId}/connections.csv`, {
      headers: { deviceKey: device.deviceKey },
    });
    const rssAfter = await server.rssMiB();
    printFigures('MCS HTTP device API fuzz', {
      'cases tried': tried,
      statuses: [...statuses]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${status}×${count}`)
        .join(' '),
      '5xx or no answer': serverErrors.length,
      crashes,
      'valid device after': after.status,
      'RSS before (MiB)': rssBefore,
      'RSS after (MiB)': rssAfter,
    });
    expect(crashes, server.child.output()).toBe(0);
    expect(serverErrors.slice(0, 5)).toEqual([]);
    expect(after.status).toBe(200);
    expect(await after.text()).toBe(`127.0.0.1,${server.tcpPort}`);
    expect(rssAfter - rssBefore).toBeLessThan(150);
  });
});
