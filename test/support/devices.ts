import { eventually } from './data-dir.js';
import type { TestServer } from './server.js';
import { TcpDevice } from './tcp-device.js';

export interface DeviceCredentials {
  readonly deviceId: string;
  readonly deviceKey: string;
}

/** Connects a device to the TCP command server with its heartbeat and waits until the API shows it online. */
export async function connectOverTcp(server: TestServer, device: DeviceCredentials): Promise<TcpDevice> {
  const socket = await TcpDevice.connect(server.app.tcp()!.port());
  socket.send(`${device.deviceId},${device.deviceKey},0`);
  await eventually(
    () => server.api<any>('GET', `/devices/${device.deviceId}`),
    (answer) => answer.body.presence.online === true,
  );
  return socket;
}

/** What a device does at boot and after flashing: report the version it runs. Returns the status. */
export async function reportVersion(server: TestServer, device: DeviceCredentials, version: string): Promise<number> {
  const response = await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
    method: 'PUT',
    headers: { deviceKey: device.deviceKey },
    body: JSON.stringify({ version }),
  });
  return response.status;
}
