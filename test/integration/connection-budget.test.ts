import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/data-dir.js';
import { connectOverTcp } from '../support/devices.js';
import { startServer, type TestServer } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

let server: TestServer;
const sockets: TcpDevice[] = [];

beforeAll(async () => {
  server = await startServer({ FOTA_MAX_DEVICE_CONNECTIONS: '1' });
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.stop();
});

describe('FOTA_MAX_DEVICE_CONNECTIONS', () => {
  it('closes device sockets past the budget, over TCP and MQTT alike, while HTTP keeps answering', async () => {
    const pid = (await server.api<any>('POST', '/prototypes', { name: 'budget' })).body.prototypeId;
    const first = (await server.api<any>('POST', `/prototypes/${pid}/devices`, { name: 'a' })).body;
    sockets.push(await connectOverTcp(server, first));

    for (const port of [server.app.tcp()!.port(), server.app.mqtt()!.port()]) {
      const extra = await TcpDevice.connect(port);
      sockets.push(extra);
      await eventually(
        async () => extra.isClosed(),
        (closed) => closed,
      );
    }
    expect((await server.api('GET', `/prototypes/${pid}/devices`)).status).toBe(200);

    // The place comes back when the admitted device leaves.
    sockets[0]!.close();
    await eventually(
      () => server.api<any>('GET', `/devices/${first.deviceId}`),
      (answer) => answer.body.presence.online === false,
    );
    sockets.push(await connectOverTcp(server, first));
  });
});
