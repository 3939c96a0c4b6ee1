import mqtt from 'mqtt';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startChildServer } from '../support/child-server.js';
import { eventually } from '../support/data-dir.js';
import { printFigures, startStressServer, type StressServer } from '../support/stress.js';

const HTTP_DEVICES = 4;
/** Acknowledged uploads to wait for before the kill; uploads keep going while it happens. */
const BEFORE_KILL = 400;

let server: StressServer | undefined;
let restarted: Awaited<ReturnType<typeof startChildServer>> | undefined;

afterAll(async () => {
  await server?.child.kill('SIGKILL');
  await restarted?.kill('SIGKILL');
  if (server) await rm(server.env['FOTA_DATA_DIR']!, { recursive: true, force: true });
});

describe('a server killed with SIGKILL during device uploads', () => {
  it('loses none of the data points it acknowledged, over HTTP or MQTT QoS 1, and prints its figures', async () => {
    // Every upload names a new channel, so each one stays visible as its own row.
    server = await startStressServer({ FOTA_MAX_CHANNELS_PER_DEVICE: '100000' });
    const devices = await Promise.all(
      Array.from({ length: HTTP_DEVICES + 1 }, (_, i) => server!.newDevice(`kill ${i}`)),
    );
    const acknowledged = new Map<string, Set<string>>(devices.map((device) => [device.deviceId, new Set()]));
    let killed = false;
    let attempts = 0;
    const count = () => [...acknowledged.values()].reduce((sum, set) => sum + set.size, 0);

    const httpLoops = devices.slice(0, HTTP_DEVICES).map(async (device) => {
      for (let n = 0; !killed; n++) {
        const channels = Array.from({ length: 5 }, (_, j) => `h${n}_${j}`);
        attempts++;
        try {
          const response = await fetch(`${server!.child.url}/mcs/v2/devices/${device.deviceId}/datapoints`, {
            method: 'POST',
            headers: { deviceKey: device.deviceKey },
            body: JSON.stringify({
              datapoints: channels.map((dataChnId) => ({ dataChnId, values: { value: `${n}` } })),
            }),
          });
          if (response.status === 200) for (const channel of channels) acknowledged.get(device.deviceId)!.add(channel);
        } catch {
          return;
        }
      }
    });
    const mqttDevice = devices[HTTP_DEVICES]!;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { reconnectPeriod: 0 });
    client.on('error', () => undefined);
    const mqttLoop = (async () => {
      for (let n = 0; !killed; n++) {
        attempts++;
        try {
          await client.publishAsync(`mcs/${mqttDevice.deviceId}/${mqttDevice.deviceKey}/m${n}`, `,,${n}`, { qos: 1 });
          acknowledged.get(mqttDevice.deviceId)!.add(`m${n}`);
        } catch {
          return;
        }
      }
    })();

    await eventually(
      async () => count(),
      (n) => n >= BEFORE_KILL,
      60_000,
    );
    await server.child.kill('SIGKILL');
    killed = true;
    client.end(true);
    await Promise.all([...httpLoops, mqttLoop]);
    const acknowledgedCount = count();

    restarted = await startChildServer(server.env);
    let lost = 0;
    for (const device of devices) {
      const response = await fetch(`${restarted.url}/api/v1/devices/${device.deviceId}`, {
        headers: { authorization: `Bearer ${server.env['FOTA_ADMIN_TOKEN']}` },
      });
      const stored = new Set(((await response.json()) as any).channels.map((channel: any) => channel.channelId));
      for (const channel of acknowledged.get(device.deviceId)!) if (!stored.has(channel)) lost++;
    }
    printFigures('SIGKILL during device uploads', {
      'uploads attempted': attempts,
      'data points acknowledged': acknowledgedCount,
      'acknowledged then lost': lost,
    });
    expect(acknowledgedCount).toBeGreaterThanOrEqual(BEFORE_KILL);
    expect(lost).toBe(0);
  });
});
