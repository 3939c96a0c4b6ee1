import { HttpClient } from '../contract/http-client.js';
import type { DeviceBody } from '../contract/schemas.js';
import { packageVersion } from '../version.js';
import type { DeviceIdentity } from './types.js';

/**
 * The management API of the server at `url`, with an administrator (or developer) token: the one
 * contract client, as the console and the CLI use it.
 */
export function managementClient(url: string, token: string): HttpClient {
  if (token.trim() === '') {
    throw new Error('no administrator token: the simulation provisions its devices through the management API');
  }
  const client = new HttpClient(url, undefined, {
    name: url,
    headers: { 'user-agent': `fota-simulator/${packageVersion}` },
    redirect: 'manual',
  });
  client.credentials = { kind: 'bearer', token: token.trim() };
  return client;
}

/** The name of the n-th simulated device, from 1: `sim-0001`. */
export const simulatedDeviceName = (n: number): string => `sim-${String(n).padStart(4, '0')}`;

/**
 * The devices `sim-0001` … `sim-N` of a prototype: those that exist are reused (the oldest of a
 * name, when there are several), the others are created. Reusing keeps a second run from filling
 * the prototype with devices.
 */
export async function provisionDevices(
  api: HttpClient,
  prototypeId: string,
  count: number,
  concurrency = 8,
): Promise<DeviceIdentity[]> {
  const existing = new Map<string, DeviceBody>();
  for (const device of await api.devices(prototypeId)) {
    const known = existing.get(device.name);
    if (!known || device.createdAt < known.createdAt) existing.set(device.name, device);
  }
  const names = Array.from({ length: count }, (_, index) => simulatedDeviceName(index + 1));
  return mapLimit(names, concurrency, async (name) => {
    const device =
      existing.get(name) ?? (await api.createDevice(prototypeId, { name, description: 'created by fota simulate' }));
    if (device.deviceKey === null) {
      throw new Error(
        "the token is a viewer's, which does not see device keys: simulate needs a developer or admin token",
      );
    }
    return { deviceId: device.deviceId, deviceKey: device.deviceKey, name };
  });
}

/**
 * The version simulated devices start from: the lowest of the prototype's firmwares (the API lists
 * them sorted by version, lowest first). A prototype without firmware cannot be simulated, since a
 * device may only report a version uploaded for its prototype.
 */
export async function lowestFirmwareVersion(api: HttpClient, prototypeId: string): Promise<string | undefined> {
  return (await api.firmwares(prototypeId))[0]?.version;
}

/** `work` over every item, at most `limit` at a time, results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
