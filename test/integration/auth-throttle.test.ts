import mqtt, { ErrorWithSubackPacket, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/data-dir.js';
import type { DeviceCredentials } from '../support/devices.js';
import { connectPacket } from '../support/mqtt-bytes.js';
import { startServer, type TestServer } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

/** Three failures at once, then one a minute: the fourth failure within a test is over the limit. */
const THROTTLE = { FOTA_AUTH_FAILURE_BURST: '3', FOTA_AUTH_FAILURES_PER_MINUTE: '1' };
const WRONG_KEY = 'WrongWrongWrong0';

const servers: TestServer[] = [];
const sockets: TcpDevice[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

/** A server with one device, made before any failure from this address counts. */
async function serverWithDevice(): Promise<{ server: TestServer; device: DeviceCredentials }> {
  const server = await startServer(THROTTLE);
  servers.push(server);
  const pid = (await server.api<any>('POST', '/prototypes', { name: 'throttle' })).body.prototypeId;
  const device = (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'd' })).body;
  return { server, device };
}

const managementCall = (server: TestServer, token: string) =>
  fetch(`${server.url}/api/v1/prototypes`, { headers: { authorization: `Bearer ${token}` } });

const deviceCall = (server: TestServer, device: DeviceCredentials, key: string) =>
  fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/connections.csv`, { headers: { deviceKey: key } });

/** Sends a heartbeat and resolves with how the connection ended: echoed (kept) or closed, and when. */
async function heartbeat(server: TestServer, device: DeviceCredentials, key: string) {
  const socket = await TcpDevice.connect(server.app.tcp()!.port());
  sockets.push(socket);
  const sent = Date.now();
  socket.send(`${device.deviceId},${key},0`);
  await eventually(
    async () => socket.isClosed() || socket.text().length > 0,
    (done) => done,
  );
  return { echoed: socket.text().length > 0, closed: socket.isClosed(), afterMs: Date.now() - sent };
}

describe('failed authentication is throttled per source address', () => {
  it('answers the management API 401 for the first wrong tokens, then 429 with Retry-After, the right token too', async () => {
    const { server } = await serverWithDevice();
    for (let i = 0; i < 2; i++) expect((await managementCall(server, `wrong-token-${i}-xxxxxxxx`)).status).toBe(401);
    // Under the limit, the right token from the same address works.
    expect((await managementCall(server, server.token)).status).toBe(200);
    expect((await managementCall(server, 'wrong-token-2-xxxxxxxx')).status).toBe(401);

    const refused = await managementCall(server, 'wrong-token-3-xxxxxxxx');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { code: 'too_many_requests' } });
    expect((await managementCall(server, server.token)).status).toBe(429);
  });

  it('answers the MCS device API 401, then 429 in the MCS error envelope with Retry-After', async () => {
    const { server, device } = await serverWithDevice();
    expect((await deviceCall(server, device, device.deviceKey)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const answer = await deviceCall(server, device, WRONG_KEY);
      expect(answer.status).toBe(401);
      await answer.body?.cancel();
    }
    const refused = await deviceCall(server, device, device.deviceKey);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toEqual({
      apiVersion: '2.0.0',
      code: 429,
      message: '429 Too Many Requests',
      errors: [{ code: 429, message: '429 Too Many Requests' }],
      statusCode: 429,
      options: {},
    });
    // The failures of one surface count on the others: the admin token is refused too.
    expect((await managementCall(server, server.token)).status).toBe(429);
  });

  it('closes a TCP connection with a wrong key after a delay, and past the limit refuses the right key too', async () => {
    const { server, device } = await serverWithDevice();
    for (let i = 0; i < 3; i++) {
      const outcome = await heartbeat(server, device, WRONG_KEY);
      expect(outcome).toMatchObject({ echoed: false, closed: true });
      expect(outcome.afterMs).toBeGreaterThanOrEqual(900);
    }
    expect(await heartbeat(server, device, device.deviceKey)).toMatchObject({ echoed: false, closed: true });
    expect((await server.api<any>('GET', `/devices/${device.deviceId}`)).status).toBe(429);
  });

  it('keeps a TCP device with the right key from an address under its limit', async () => {
    const { server, device } = await serverWithDevice();
    await heartbeat(server, device, WRONG_KEY);
    expect(await heartbeat(server, device, device.deviceKey)).toMatchObject({ echoed: true, closed: false });
  });

  it('closes an MQTT client whose subscription has a wrong key, and past the limit refuses to connect', async () => {
    const { server, device } = await serverWithDevice();
    const url = `mqtt://127.0.0.1:${server.app.mqtt()!.port()}`;
    for (let i = 0; i < 3; i++) {
      const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, keepalive: 0 });
      clients.push(client);
      const refused = await client.subscribeAsync(`mcs/${device.deviceId}/${WRONG_KEY}/+`).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ErrorWithSubackPacket);
      await eventually(
        async () => client.connected,
        (connected) => !connected,
      );
    }
    // Over the limit: the CONNECT gets no CONNACK, only a close a moment later.
    const socket = await TcpDevice.connect(server.app.mqtt()!.port());
    sockets.push(socket);
    const sent = Date.now();
    socket.send(connectPacket('after-the-limit'));
    await eventually(
      async () => socket.isClosed(),
      (isClosed) => isClosed,
    );
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
    expect(socket.text()).toBe('');
  });
});
