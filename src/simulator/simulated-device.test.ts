import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatHabits } from './heartbeats.js';
import { SimulatedDevice, type SimulatedDeviceOptions } from './simulated-device.js';
import { closedPort, startLoopbackFota, until, type LoopbackFota } from './testing/loopback-fota.js';
import type { SimulationEvent } from './types.js';

const quickBackoff = { initialMs: 20, maxMs: 100, stableMs: 60_000 };
const firmwareBytes = Buffer.from('firmware 2.0 '.repeat(5_000));

let fota: LoopbackFota;
let running: SimulatedDevice[];
let events: SimulationEvent[];

beforeEach(async () => {
  fota = await startLoopbackFota();
  fota.versions.push('1.0', '2.0');
  running = [];
  events = [];
});

afterEach(async () => {
  await Promise.all(running.map((device) => device.stop()));
  await fota.stop();
});

function device(options: Partial<SimulatedDeviceOptions> & Pick<SimulatedDeviceOptions, 'protocol'>): SimulatedDevice {
  const identity = fota.addDevice(`sim-${running.length + 1}`);
  const simulated = new SimulatedDevice(
    {
      identity,
      httpBase: fota.url,
      startVersion: '1.0',
      mqttUrl: fota.mqttUrl,
      backoff: quickBackoff,
      ...options,
    },
    (event) => events.push(event),
  );
  running.push(simulated);
  return simulated;
}

const of = (simulated: SimulatedDevice, type: SimulationEvent['type']) =>
  events.filter((event) => event.type === type && 'deviceId' in event && event.deviceId === simulated.deviceId);

describe('a simulated TCP device', () => {
  it.each(heartbeatHabits.map((habit) => [habit.client, habit] as const))(
    'as %s: reports, heartbeats, reads an echo and a FOTA line in one read, and upgrades',
    async (_client, habit) => {
      const simulated = device({ protocol: 'tcp', heartbeat: habit });
      const { url, md5 } = fota.firmware('fw-2.0.bin', firmwareBytes);
      await simulated.start();
      expect(fota.reports(simulated.deviceId)).toEqual(['1.0']);
      await until(() => simulated.snapshot().state === 'connected', 'connected');
      const peer = () => fota.livePeers().find((candidate) => candidate.deviceId === simulated.deviceId);
      await until(() => (peer()?.reads.length ?? 0) > 0 && simulated.snapshot().echoes > 0, 'first heartbeat echoed');
      expect(peer()?.reads[0]).toEqual(habit.bytes(simulated.deviceId, fota.devices.at(-1)!.deviceKey));

      fota.sendTcp(
        simulated.deviceId,
        `${simulated.deviceId},${fota.devices.at(-1)!.deviceKey},1513132150790,FOTA,2.0,${md5},${url}`,
      );
      await until(() => simulated.snapshot().upgraded === 1, 'upgraded');

      const snapshot = simulated.snapshot();
      expect(snapshot).toMatchObject({
        version: '2.0',
        fotaReceived: 1,
        failed: 0,
        bytesDownloaded: firmwareBytes.length,
      });
      expect(snapshot.client).toBe(`tcp:${habit.client}`);
      expect(fota.reports(simulated.deviceId)).toEqual(['1.0', '2.0']);
      const statusUpload = fota.requests.find(
        (request) => request.path === `/mcs/v2/devices/${simulated.deviceId}/datapoints.csv`,
      );
      expect(statusUpload).toMatchObject({ method: 'POST', body: 'status,,fotaing' });
      expect(statusUpload?.deviceKey).toBe(fota.devices.at(-1)!.deviceKey);
      expect(of(simulated, 'fota.received')).toHaveLength(1);
      expect(of(simulated, 'fota.downloading')).toHaveLength(1);
      expect(of(simulated, 'fota.upgraded')).toEqual([
        { type: 'fota.upgraded', deviceId: simulated.deviceId, version: '2.0', bytes: firmwareBytes.length },
      ]);
    },
  );

  it('sends heartbeats again every period', async () => {
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[2], heartbeatIntervalMs: 20 });
    await simulated.start();
    await until(() => simulated.snapshot().heartbeats >= 3, 'three heartbeats');
    const peer = fota.livePeers().find((candidate) => candidate.deviceId === simulated.deviceId);
    await until(() => Buffer.concat(peer!.reads).length >= 150, 'three heartbeats read');
    expect(Buffer.concat(peer!.reads).subarray(0, 150)).toEqual(
      Buffer.concat(
        Array.from({ length: 3 }, () => heartbeatHabits[2]!.bytes(simulated.deviceId, fota.devices[0]!.deviceKey)),
      ),
    );
  });

  it('works without the echo, and with the FOTA line alone', async () => {
    fota.echo = false;
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[0] });
    const { url, md5 } = fota.firmware('fw.bin', firmwareBytes);
    await simulated.start();
    await until(() => fota.livePeers().some((peer) => peer.deviceId === simulated.deviceId), 'identified');
    const key = fota.devices[0]!.deviceKey;
    fota.sendTcp(simulated.deviceId, `${simulated.deviceId},${key},1513132150790,FOTA,2.0,${md5},${url}`, false);
    await until(() => simulated.snapshot().upgraded === 1, 'upgraded');
    expect(simulated.snapshot().echoes).toBe(0);
  });

  it.each([
    ['an MD5 that does not match', (url: string) => ({ url, md5: 'f'.repeat(32) }), /MD5 mismatch/],
    [
      'a download cut before its Content-Length',
      () => ({
        url: fota.truncatedFirmware('cut.bin', firmwareBytes.subarray(0, 1000), firmwareBytes.length),
        md5: 'null',
      }),
      /cut after|size mismatch/,
    ],
    ['a download that answers 404', () => ({ url: `${fota.url}/fw/missing.bin`, md5: 'null' }), /HTTP 404/],
  ])('counts %s as a failure and does not report the version', async (_name, make, reason) => {
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[1] });
    const { url: goodUrl } = fota.firmware('fw.bin', firmwareBytes);
    const { url, md5 } = make(goodUrl);
    await simulated.start();
    await until(() => fota.livePeers().some((peer) => peer.deviceId === simulated.deviceId), 'identified');
    fota.sendTcp(
      simulated.deviceId,
      `${simulated.deviceId},${fota.devices[0]!.deviceKey},1513132150790,FOTA,2.0,${md5},${url}`,
    );
    await until(() => simulated.snapshot().failed === 1, 'failed');
    expect(simulated.snapshot()).toMatchObject({ upgraded: 0, version: '1.0', downloading: false });
    expect(fota.reports(simulated.deviceId)).toEqual(['1.0']);
    const [failure] = of(simulated, 'fota.failed');
    expect(failure).toMatchObject({ version: '2.0', reason: expect.stringMatching(reason) });
  });

  it('counts a FOTA line with an empty field as a failure, as strtok would misread it', async () => {
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[0] });
    await simulated.start();
    await until(() => fota.livePeers().some((peer) => peer.deviceId === simulated.deviceId), 'identified');
    fota.sendTcp(
      simulated.deviceId,
      `${simulated.deviceId},${fota.devices[0]!.deviceKey},1513132150790,FOTA,2.0,,${fota.url}/fw/x`,
    );
    await until(() => simulated.snapshot().failed === 1, 'failed');
    expect(of(simulated, 'fota.failed')[0]).toMatchObject({
      version: '2.0',
      reason: expect.stringMatching(/too few fields/),
    });
  });

  it('keeps FOTA messages that come during an upgrade, and runs the newest one after it', async () => {
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[0] });
    const key = fota.devices[0]!.deviceKey;
    const first = fota.firmware('fw-1.1.bin', Buffer.from('one point one'));
    const second = fota.firmware('fw-2.0.bin', firmwareBytes);
    fota.versions.push('1.1');
    const release = fota.holdDownloads('fw-1.1.bin');
    await simulated.start();
    await until(() => fota.livePeers().some((peer) => peer.deviceId === simulated.deviceId), 'identified');
    const line = (version: string, { url, md5 }: { url: string; md5: string }) =>
      `${simulated.deviceId},${key},1513132150790,FOTA,${version},${md5},${url}`;
    fota.sendTcp(simulated.deviceId, line('1.1', first));
    await until(() => simulated.snapshot().downloading, 'downloading 1.1');
    fota.sendTcp(simulated.deviceId, line('2.0', first), false);
    fota.sendTcp(simulated.deviceId, line('2.0', second), false);
    await until(() => simulated.snapshot().fotaReceived === 3, 'both later messages read');
    release();
    await until(() => simulated.snapshot().upgraded === 2, 'upgraded twice');
    expect(fota.reports(simulated.deviceId)).toEqual(['1.0', '1.1', '2.0']);
    expect(simulated.snapshot()).toMatchObject({ version: '2.0', failed: 0 });
  });

  it('re-fetches connections.csv and reconnects when the server closes the socket', async () => {
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[3] });
    await simulated.start();
    await until(() => fota.livePeers().some((peer) => peer.deviceId === simulated.deviceId), 'identified');
    fota.livePeers()[0]!.socket.destroy();
    await until(() => fota.tcpPeers.filter((peer) => peer.deviceId === simulated.deviceId).length === 2, 'reconnected');
    const fetches = fota.requests.filter((request) => request.path.endsWith('/connections.csv'));
    expect(fetches).toHaveLength(2);
    expect(simulated.snapshot().disconnects).toBe(1);
    expect(of(simulated, 'device.disconnected')[0]).toMatchObject({ protocol: 'tcp', retryInMs: expect.any(Number) });
    await until(() => simulated.snapshot().state === 'connected', 'connected again');
  });

  it('keeps trying while the TCP server refuses connections, and gets back in', async () => {
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[0] });
    await simulated.start();
    await until(() => fota.livePeers().length === 1, 'connected');
    fota.tcpAddress = `127.0.0.1,${await closedPort()}`;
    fota.livePeers()[0]!.socket.destroy();
    await until(() => simulated.snapshot().disconnects >= 3, 'refused a few times');
    expect(of(simulated, 'device.disconnected').at(-1)).toMatchObject({
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
    fota.tcpAddress = undefined;
    await until(() => fota.livePeers().length === 1 && simulated.snapshot().state === 'connected', 'back in');
  });

  it('keeps trying while connections.csv fails', async () => {
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[0] });
    await simulated.start();
    await until(() => fota.livePeers().length === 1, 'connected');
    fota.tcpAddress = 'not an address';
    fota.livePeers()[0]!.socket.destroy();
    await until(() => simulated.snapshot().disconnects >= 2, 'retried');
    expect(of(simulated, 'device.disconnected').at(-1)).toMatchObject({
      reason: expect.stringMatching(/no TCP address/),
    });
    fota.tcpAddress = undefined;
    await until(() => fota.livePeers().length === 1, 'back in');
  });

  it('closes its socket on stop and does not come back', async () => {
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[4] });
    await simulated.start();
    await until(() => fota.livePeers().length === 1, 'connected');
    await simulated.stop();
    await until(() => fota.livePeers().length === 0, 'closed on the server side');
    expect(simulated.snapshot().state).toBe('stopped');
    expect(fota.tcpPeers).toHaveLength(1);
    expect(of(simulated, 'device.disconnected')).toEqual([]);
  });

  it('refuses to start when the server refuses its start version', async () => {
    const simulated = device({ protocol: 'tcp', heartbeat: heartbeatHabits[0], startVersion: '9.9' });
    await expect(simulated.start()).rejects.toThrow(/firmwares answered HTTP 404/);
    expect(fota.tcpPeers).toHaveLength(0);
  });
});

describe('a simulated MQTT device', () => {
  it.each([
    [3, '3.1', 'MQIsdp', 10],
    [4, '3.1.1', 'MQTT', 60],
  ] as const)(
    'speaking MQTT %s (%s): subscribes, reads FOTA from mcs/ID/KEY/FOTA, publishes its status, upgrades',
    async (version, label, protocolId, keepalive) => {
      const simulated = device({ protocol: 'mqtt', mqttVersion: version });
      const { deviceKey } = fota.devices[0]!;
      const { url, md5 } = fota.firmware('fw-2.0.bin', firmwareBytes);
      await simulated.start();
      await until(() => simulated.snapshot().state === 'connected', 'connected and subscribed');
      const peer = fota.mqttPeers.get(`fota-sim-${simulated.deviceId}`);
      expect(peer).toMatchObject({
        version,
        connect: { protocolId, keepalive, clean: true },
        subscriptions: [`mcs/${simulated.deviceId}/${deviceKey}/+`],
      });
      expect(simulated.snapshot().client).toBe(`mqtt:${label}`);

      await fota.publishMqtt(`mcs/${simulated.deviceId}/${deviceKey}/FOTA`, `1513133357160,FOTA,2.0,${md5},${url}`);
      await until(() => simulated.snapshot().upgraded === 1, 'upgraded');
      expect(peer?.publishes).toContainEqual({
        topic: `mcs/${simulated.deviceId}/${deviceKey}/status`,
        payload: ',status,fotaing',
      });
      expect(fota.reports(simulated.deviceId)).toEqual(['1.0', '2.0']);
      // Its own status comes back through the subscription and is not taken for a command.
      expect(simulated.snapshot()).toMatchObject({ fotaReceived: 1, failed: 0, version: '2.0' });
      expect(fota.requests.some((request) => request.path.endsWith('/datapoints.csv'))).toBe(false);
    },
  );

  it('an MD5 mismatch over MQTT is a failure and is not reported', async () => {
    const simulated = device({ protocol: 'mqtt', mqttVersion: 4 });
    const { deviceKey } = fota.devices[0]!;
    const { url } = fota.firmware('fw.bin', firmwareBytes);
    await simulated.start();
    await until(() => simulated.snapshot().state === 'connected', 'connected');
    await fota.publishMqtt(
      `mcs/${simulated.deviceId}/${deviceKey}/FOTA`,
      `1513133357160,FOTA,2.0,${'0'.repeat(32)},${url}\0`,
    );
    await until(() => simulated.snapshot().failed === 1, 'failed');
    expect(fota.reports(simulated.deviceId)).toEqual(['1.0']);
  });

  it('connects again and resubscribes when the broker drops it', async () => {
    const simulated = device({ protocol: 'mqtt', mqttVersion: 3 });
    const { deviceKey } = fota.devices[0]!;
    await simulated.start();
    await until(() => simulated.snapshot().state === 'connected', 'connected');
    fota.mqttPeers.clear();
    fota.dropMqtt(`fota-sim-${simulated.deviceId}`);
    await until(() => of(simulated, 'device.connected').length === 2, 'connected again');
    expect(simulated.snapshot().disconnects).toBe(1);
    expect(fota.mqttPeers.get(`fota-sim-${simulated.deviceId}`)?.subscriptions).toEqual([
      `mcs/${simulated.deviceId}/${deviceKey}/+`,
    ]);
  });

  it('stops at once while its MQTT connection is still being made', async () => {
    const accepted: Socket[] = [];
    let closed = 0;
    const silent = createServer((socket) => {
      accepted.push(socket);
      socket
        .on('error', () => {})
        .on('close', () => closed++)
        .resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const simulated = device({ protocol: 'mqtt', mqttVersion: 4, mqttUrl: `mqtt://127.0.0.1:${port}` });
      await simulated.start();
      await until(() => accepted.length === 1, 'CONNECT sent to a broker that never answers');
      await simulated.stop();
      expect(simulated.snapshot().state).toBe('stopped');
      await until(() => closed === 1, 'connection closed');
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('closes its MQTT connection on stop', async () => {
    const simulated = device({ protocol: 'mqtt', mqttVersion: 4 });
    await simulated.start();
    await until(() => simulated.snapshot().state === 'connected', 'connected');
    await simulated.stop();
    expect(of(simulated, 'device.disconnected')).toEqual([]);
    expect(simulated.snapshot().state).toBe('stopped');
  });
});
