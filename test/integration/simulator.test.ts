import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation, type SimulationEvent } from '../../src/simulator/index.js';
import { eventually } from '../support/data-dir.js';
import { startServer, uploadFirmware, type TestServer } from '../support/server.js';

/**
 * The device simulator against the real server: the management API provisions the devices, the
 * TCP command server and the MQTT broker carry the push, downloads and reports go through the MCS
 * device API, exactly as `fota simulate` runs it.
 */

let server: TestServer;
let prototypeId: string;
let firmwareTwo: { fwId: string; md5: string; size: number };

beforeAll(async () => {
  server = await startServer();
  prototypeId = (await server.api<any>('POST', '/prototypes', { name: 'simulated lamp' })).body.prototypeId;
  // Uploaded out of order: the simulator must still start from the lowest version.
  firmwareTwo = (
    await uploadFirmware(server, prototypeId, { name: 'lamp', version: '2.0' }, 'lamp firmware 2.0 '.repeat(4000))
  ).body;
  await uploadFirmware(server, prototypeId, { name: 'lamp', version: '1.0' }, 'lamp firmware 1.0');
});

afterAll(async () => {
  await server.stop();
});

const device = async (deviceId: string) => (await server.api<any>('GET', `/devices/${deviceId}`)).body;

describe('fota simulate against the real server', () => {
  it('4 devices over TCP and MQTT receive a push and all report the new version', async () => {
    const stop = new AbortController();
    const events: SimulationEvent[] = [];
    const run = runSimulation(
      {
        url: server.url,
        token: server.token,
        prototypeId,
        devices: 4,
        protocol: 'mix',
        mqttUrl: `mqtt://127.0.0.1:${server.app.mqtt()!.port()}`,
        signal: stop.signal,
      },
      (event) => events.push(event),
    );
    try {
      // Every device online as the server sees it, over the protocol it was given.
      await eventually(
        async () => run.devices(),
        (devices) => devices.length === 4,
      );
      const simulated = run.devices();
      expect(simulated.map((one) => `${one.name} ${one.client}`)).toEqual([
        'sim-0001 tcp:python-tutorial',
        'sim-0002 mqtt:3.1',
        'sim-0003 tcp:mcsjs',
        'sim-0004 mqtt:3.1.1',
      ]);
      for (const one of simulated) {
        const seen = await eventually(
          () => device(one.deviceId),
          (body) => body.presence.online === true && body.firmware?.version === '1.0',
        );
        expect(seen.presence.protocol).toBe(one.protocol);
      }

      const push = await server.api<any>('POST', `/firmwares/${firmwareTwo.fwId}/push`, {
        deviceIds: simulated.map((one) => one.deviceId),
      });
      expect(push.status).toBe(201);
      expect(push.body.counts.offline ?? 0).toBe(0);

      for (const one of simulated) {
        await eventually(
          () => device(one.deviceId),
          (body) => body.firmware?.version === '2.0',
          30_000,
        );
      }
      const done = await eventually(
        async () => (await server.api<any>('GET', `/pushes/${push.body.pushId}`)).body,
        (body) => body.counts.upgraded === 4,
      );
      expect(done).toMatchObject({ status: 'finished', total: 4 });
      const page = await server.api<any>('GET', `/pushes/${push.body.pushId}/targets`);
      expect(page.body.targets.map((target: any) => target.status)).toEqual([
        'upgraded',
        'upgraded',
        'upgraded',
        'upgraded',
      ]);
      // MediaTek's C client habit: status,,fotaing before the download, over HTTP (TCP devices) or MQTT.
      for (const one of simulated) {
        const body = await device(one.deviceId);
        expect(body.channels).toContainEqual(
          expect.objectContaining({ channelId: 'status', values: { value: 'fotaing' } }),
        );
      }
      expect(run.stats()).toMatchObject({
        fotaReceived: 4,
        upgraded: 4,
        failed: 0,
        bytesDownloaded: 4 * firmwareTwo.size,
        versions: { '2.0': 4 },
      });
      const received = events.filter((event) => event.type === 'fota.received');
      expect(received.map((event) => event.type === 'fota.received' && event.fota.md5)).toEqual(
        Array(4).fill(firmwareTwo.md5),
      );
    } finally {
      stop.abort();
    }

    const summary = await run.done;
    expect(summary).toMatchObject({ startVersion: '1.0', upgraded: 4, failed: 0, failures: [] });
    // Every socket closed: the server sees no connection left.
    await eventually(
      async () => [server.app.tcp()!.connectionCount(), server.app.mqtt()!.clientCount()],
      ([tcp, mqtt]) => tcp === 0 && mqtt === 0,
    );
    for (const one of run.devices()) {
      await eventually(
        () => device(one.deviceId),
        (body) => body.presence.online === false,
      );
    }
  });
});
