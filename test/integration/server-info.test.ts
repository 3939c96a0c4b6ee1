import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageVersion } from '../../src/version.js';
import { startServer, type TestServer } from '../support/server.js';

/** `GET /api/v1/server`: where devices reach the server, for the simulator and `fota info`. */
describe('GET /api/v1/server', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ FOTA_TCP_PUBLIC_HOST: 'fota.example' });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('answers the version, the public URL, and the TCP and MQTT addresses devices use', async () => {
    const answer = await server.api('GET', '/server');
    expect(answer).toEqual({
      status: 200,
      body: {
        version: packageVersion,
        publicUrl: server.url,
        tcp: { host: 'fota.example', port: server.app.tcp()!.port() },
        mqtt: { host: 'fota.example', port: server.app.mqtt()!.port() },
      },
    });
    // The same TCP address as connections.csv gives a device.
    const device = (
      await server.api<any>(
        'POST',
        `/prototypes/${(await server.api<any>('POST', '/prototypes', { name: 'p' })).body.prototypeId}/devices`,
        {
          name: 'd',
        },
      )
    ).body;
    const csv = await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/connections.csv`, {
      headers: { deviceKey: device.deviceKey },
    });
    expect(await csv.text()).toBe(`fota.example,${server.app.tcp()!.port()}`);
  });

  it('refuses a request without the administrator token', async () => {
    const response = await fetch(`${server.url}/api/v1/server`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as any).error.code).toBe('unauthenticated');
  });
});
