import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultMqttUrl,
  findMqttBroker,
  planDevices,
  runSimulation,
  statsOf,
  type SimulationOptions,
} from './simulation.js';
import { managementClient } from './provision.js';
import { closedPort, startLoopbackFota, until, type LoopbackFota } from './testing/loopback-fota.js';
import type { SimulationEvent } from './types.js';

let fota: LoopbackFota;

beforeEach(async () => {
  fota = await startLoopbackFota();
});

afterEach(async () => {
  await fota.stop();
});

const optionsFor = (extra: Partial<SimulationOptions> = {}): SimulationOptions => ({
  url: fota.url,
  token: fota.token,
  prototypeId: fota.prototypeId,
  devices: 4,
  protocol: 'mix',
  mqttUrl: fota.mqttUrl,
  backoff: { initialMs: 20, maxMs: 100, stableMs: 60_000 },
  ...extra,
});

describe('planDevices', () => {
  const identities = Array.from({ length: 7 }, (_, index) => ({
    deviceId: `D000000${index}`,
    deviceKey: 'k'.repeat(16),
    name: `sim-000${index + 1}`,
  }));
  const common = { httpBase: 'http://x', startVersion: '1', mqttUrl: 'mqtt://x:1883' };

  it('mix: TCP and MQTT in turn; habits rotate over TCP devices, MQTT 3.1 and 3.1.1 alternate', () => {
    const plans = planDevices(identities, 'mix', common);
    expect(plans.map((plan) => plan.protocol)).toEqual(['tcp', 'mqtt', 'tcp', 'mqtt', 'tcp', 'mqtt', 'tcp']);
    expect(plans.filter((plan) => plan.protocol === 'tcp').map((plan) => plan.heartbeat?.client)).toEqual([
      'python-tutorial',
      'mcsjs',
      'mcs.c',
      'arduino-7697',
    ]);
    expect(plans.filter((plan) => plan.protocol === 'mqtt').map((plan) => plan.mqttVersion)).toEqual([3, 4, 3]);
  });

  it.each(['tcp', 'mqtt'] as const)('%s: every device', (protocol) => {
    expect(planDevices(identities, protocol, common).every((plan) => plan.protocol === protocol)).toBe(true);
  });
});

describe('defaultMqttUrl', () => {
  it.each([
    ['http://localhost:8080', 'mqtt://localhost:1883'],
    ['https://fota.example.com', 'mqtt://fota.example.com:1883'],
    ['http://[::1]:8080/', 'mqtt://[::1]:1883'],
  ])('%s → %s', (url, mqtt) => {
    expect(defaultMqttUrl(url)).toBe(mqtt);
  });
});

describe('findMqttBroker', () => {
  it('takes the URL given, else falls back to port 1883 of the host when the server does not say (404)', async () => {
    const api = managementClient(fota.url, fota.token);
    expect(await findMqttBroker(api, fota.url, 'mqtt://broker:1884')).toEqual({
      url: 'mqtt://broker:1884',
      from: 'option',
    });
    expect(await findMqttBroker(api, fota.url, undefined)).toEqual({ url: 'mqtt://127.0.0.1:1883', from: 'default' });
    expect(fota.requests.map((request) => request.path)).toEqual(['/api/v1/server']);
  });

  it('does not hide a refused token behind the default', async () => {
    const api = managementClient(fota.url, 'wrong');
    await expect(findMqttBroker(api, fota.url, undefined)).rejects.toMatchObject({ name: 'ApiError', status: 401 });
  });
});

describe('runSimulation', () => {
  it('reuses and creates sim devices, starts from the lowest version, upgrades every device on FOTA, and closes every socket', async () => {
    fota.versions.push('1.0', '1.1', '2.0');
    const reused = fota.addDevice('sim-0002');
    fota.addDevice('someone else');
    const { url, md5 } = fota.firmware('fw-2.0.bin', Buffer.from('new firmware'));
    const stop = new AbortController();
    const events: SimulationEvent[] = [];
    const run = runSimulation(optionsFor({ signal: stop.signal }), (event) => events.push(event));

    await until(() => run.stats().connected.tcp === 2 && run.stats().connected.mqtt === 2, 'all connected');
    const names = fota.devices.map((device) => device.name).sort();
    expect(names).toEqual(['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004', 'someone else']);
    const simulated = run.devices();
    expect(simulated.map((device) => device.name)).toEqual(['sim-0001', 'sim-0002', 'sim-0003', 'sim-0004']);
    expect(simulated[1]?.deviceId).toBe(reused.deviceId);
    expect(simulated.map((device) => device.client)).toEqual([
      'tcp:python-tutorial',
      'mqtt:3.1',
      'tcp:mcsjs',
      'mqtt:3.1.1',
    ]);
    for (const device of simulated) expect(fota.reports(device.deviceId)).toEqual(['1.0']);
    expect(events[0]).toEqual({
      type: 'simulation.started',
      prototypeId: fota.prototypeId,
      startVersion: '1.0',
      tcp: 2,
      mqtt: 2,
      broker: { url: fota.mqttUrl, from: 'option' },
    });

    for (const device of simulated) {
      const { deviceKey } = fota.devices.find((candidate) => candidate.deviceId === device.deviceId)!;
      if (device.protocol === 'tcp') {
        await until(() => fota.livePeers().some((peer) => peer.deviceId === device.deviceId), 'identified');
        fota.sendTcp(device.deviceId, `${device.deviceId},${deviceKey},1513132150790,FOTA,2.0,${md5},${url}`);
      } else {
        await fota.publishMqtt(`mcs/${device.deviceId}/${deviceKey}/FOTA`, `1513133357160,FOTA,2.0,${md5},${url}`);
      }
    }
    await until(() => run.stats().upgraded === 4, 'all upgraded');
    expect(run.stats()).toMatchObject({ fotaReceived: 4, failed: 0, downloading: 0, versions: { '2.0': 4 } });

    stop.abort();
    const summary = await run.done;
    expect(summary).toMatchObject({
      prototypeId: fota.prototypeId,
      startVersion: '1.0',
      protocol: 'mix',
      devices: { tcp: 2, mqtt: 2 },
      connected: { tcp: 0, mqtt: 0 },
      fotaReceived: 4,
      upgraded: 4,
      failed: 0,
      bytesDownloaded: 4 * 'new firmware'.length,
      versions: { '2.0': 4 },
      failures: [],
    });
    expect(fota.livePeers()).toEqual([]);
    await until(() => [...fota.mqttPeers.values()].length === 2, 'both MQTT devices seen');
    expect(events.filter((event) => event.type === 'fota.upgraded')).toHaveLength(4);
  });

  it('a second run reuses the same devices', async () => {
    fota.versions.push('1.0');
    const first = runSimulation(optionsFor({ devices: 2, protocol: 'tcp', durationMs: 1 }));
    await first.done;
    const ids = fota.devices.map((device) => device.deviceId);
    const second = runSimulation(optionsFor({ devices: 3, protocol: 'tcp', durationMs: 1 }));
    const summary = await second.done;
    expect(fota.devices.map((device) => device.deviceId).slice(0, 2)).toEqual(ids);
    expect(fota.devices).toHaveLength(3);
    expect(summary.devices).toEqual({ tcp: 3, mqtt: 0 });
  });

  it('starts from --start-version when given', async () => {
    fota.versions.push('1.0', '1.5');
    const summary = await runSimulation(optionsFor({ devices: 1, protocol: 'tcp', startVersion: '1.5', durationMs: 1 }))
      .done;
    expect(summary.startVersion).toBe('1.5');
    expect(fota.reports(fota.devices[0]!.deviceId)).toEqual(['1.5']);
  });

  it('stops at the end of its duration', async () => {
    fota.versions.push('1.0');
    const run = runSimulation(optionsFor({ devices: 2, protocol: 'mqtt', durationMs: 200 }));
    const summary = await run.done;
    expect(summary.devices).toEqual({ tcp: 0, mqtt: 2 });
    expect(summary.connected).toEqual({ tcp: 0, mqtt: 0 });
  });

  it('names the first refused connection of each kind once, and counts every one', async () => {
    fota.versions.push('1.0');
    const port = await closedPort();
    const events: SimulationEvent[] = [];
    const stop = new AbortController();
    const run = runSimulation(
      optionsFor({ devices: 3, protocol: 'mqtt', mqttUrl: `mqtt://127.0.0.1:${port}`, signal: stop.signal }),
      (event) => events.push(event),
    );
    await until(() => run.stats().disconnects >= 9, 'every device refused a few times');
    stop.abort();
    const summary = await run.done;
    const problems = events.filter((event) => event.type === 'connection.problem');
    expect(problems).toEqual([
      {
        type: 'connection.problem',
        deviceId: expect.any(String),
        protocol: 'mqtt',
        reason: `connect ECONNREFUSED 127.0.0.1:${port}`,
      },
    ]);
    expect(summary.connectionProblems).toEqual([
      { protocol: 'mqtt', reason: `connect ECONNREFUSED 127.0.0.1:${port}`, count: summary.disconnects },
    ]);
    expect(summary.mqttUrl).toBe(`mqtt://127.0.0.1:${port}`);
  });

  it.each([
    ['a prototype without firmware', {}, [], /has no firmware yet/],
    ['a start version the prototype does not have', { startVersion: '9' }, ['1.0'], /could not report version 9/],
    // The API's refusal as the contract client reports it (`fota simulate` words it for the CLI).
    ['a wrong token', { token: 'wrong' }, ['1.0'], { name: 'ApiError', status: 401 }],
    ['no token', { token: '' }, ['1.0'], /no administrator token/],
  ])('refuses to start with %s', async (_name, extra, versions, refusal) => {
    fota.versions.push(...versions);
    const done = expect(runSimulation(optionsFor(extra)).done).rejects;
    await (refusal instanceof RegExp ? done.toThrow(refusal) : done.toMatchObject(refusal));
    expect(fota.livePeers()).toEqual([]);
  });
});

describe('statsOf', () => {
  it('adds up device snapshots', () => {
    const base = {
      name: 'sim',
      client: 'tcp:mcsjs',
      fotaReceived: 1,
      downloading: false,
      upgraded: 1,
      failed: 0,
      disconnects: 2,
      heartbeats: 3,
      echoes: 3,
      bytesDownloaded: 10,
    };
    const stats = statsOf([
      { ...base, deviceId: 'D1', protocol: 'tcp', state: 'connected', version: '2.0' },
      { ...base, deviceId: 'D2', protocol: 'tcp', state: 'connecting', version: '1.0', downloading: true },
      { ...base, deviceId: 'D3', protocol: 'mqtt', state: 'connected', version: '2.0', failed: 1 },
    ]);
    expect(stats).toEqual({
      devices: { tcp: 2, mqtt: 1 },
      connected: { tcp: 1, mqtt: 1 },
      fotaReceived: 3,
      downloading: 1,
      upgraded: 3,
      failed: 1,
      disconnects: 6,
      heartbeats: 9,
      echoes: 9,
      bytesDownloaded: 30,
      versions: { '2.0': 2, '1.0': 1 },
    });
  });
});
