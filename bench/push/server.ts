import { REQUEST_TIMEOUT_MS, startFotaServer, type FotaServer } from '../lib/fota-server.js';
import { progress } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import { listeningPorts } from '../lib/sockets.js';
import type { SwarmDevice } from './protocol.js';

/** The fota server of bench:push: the bench:api launcher, plus the TCP and MQTT ports it chose. */
export interface PushServer extends FotaServer {
  readonly tcpPort: number;
  readonly mqttPort: number;
  /** A prototype of its own for the probe devices, so that no push of the fleet names them. */
  readonly probePrototypeId: string;
}

interface DeviceAnswer {
  readonly deviceId: string;
  readonly deviceKey: string;
}

/**
 * Starts `node bin/fota.js serve` with bench/lib/fota-server.ts (free ports, FOTA_LOG_LEVEL=warn,
 * heartbeat echo on, as by default). The launcher picks the TCP and MQTT ports itself and does not
 * say which is which, so they are read from /proc: the TCP one is what `connections.csv` answers for a
 * probe device, the MQTT one is the other listening port.
 */
export async function startPushServer(
  resources: Resources,
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<PushServer> {
  let server: FotaServer | undefined;
  // The launcher picks each port by listening on port 0 and closing it; with thousands of client
  // sockets coming and going, another socket may take it before the server listens. Try again then.
  for (let attempt = 1; !server; attempt++) {
    try {
      server = await startFotaServer(resources, `${dataDir}-${attempt}`, { maxFirmwareBytes: 1024 * 1024, env });
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test((error as Error).message)) throw error;
      progress(`the fota server found a port taken (attempt ${attempt}); starting it again on other ports`);
    }
  }
  const httpPort = Number(new URL(server.url).port);
  const prototype = await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'bench probe' });
  const probe = await server.api<DeviceAnswer>('POST', `/prototypes/${prototype.prototypeId}/devices`, {
    name: 'probe',
  });
  const csv = await fetch(`${server.url}/mcs/v2/devices/${probe.deviceId}/connections.csv`, {
    headers: { deviceKey: probe.deviceKey },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const endpoint = await csv.text();
  const tcpPort = Number(endpoint.split(',')[1]);
  const others = listeningPorts(server.child.pid).filter((port) => port !== httpPort && port !== tcpPort);
  if (!Number.isInteger(tcpPort) || others.length !== 1) {
    throw server.failure(
      `could not tell the TCP and MQTT ports apart: connections.csv answered "${endpoint}", the server listens on ${listeningPorts(server.child.pid).join(', ')}`,
    );
  }
  return Object.assign(server, { tcpPort, mqttPort: others[0]!, probePrototypeId: prototype.prototypeId });
}

/** Creates `count` devices through `POST /api/v1/prototypes/:pid/devices`, a few requests at a time. */
export async function createDevices(
  server: FotaServer,
  prototypeId: string,
  count: number,
  what: string,
): Promise<{ devices: { id: string; key: string }[]; seconds: number }> {
  const devices: { id: string; key: string }[] = new Array(count);
  const start = Date.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const answer = await server.api<DeviceAnswer>('POST', `/prototypes/${prototypeId}/devices`, {
        name: `bench ${i}`,
      });
      devices[i] = { id: answer.deviceId, key: answer.deviceKey };
      if (++done % 2500 === 0) progress(`${what}: ${done} devices created`);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return { devices, seconds: (Date.now() - start) / 1000 };
}

/** Half the devices on TCP, half on MQTT, alternating so every swarm gets both. */
export function withProtocols(devices: readonly { id: string; key: string }[]): SwarmDevice[] {
  return devices.map((device, i) => ({ ...device, protocol: i % 2 === 0 ? 'tcp' : 'mqtt' }));
}

/** Deals the devices out to `count` swarms, round robin. */
export function shares<T>(items: readonly T[], count: number): T[][] {
  const result: T[][] = Array.from({ length: count }, () => []);
  items.forEach((item, i) => result[i % count]!.push(item));
  return result;
}

interface DeviceListEntry {
  readonly deviceId: string;
  readonly presence: { readonly online: boolean; readonly lastSeen: string | null };
}

/**
 * Polls `GET /api/v1/prototypes/:pid/devices` until every listed device in `ids` is online (and,
 * with `seenSince`, was last seen at or after it). Answers when that held, and how many polls it took.
 */
export async function waitAllOnline(
  server: FotaServer,
  prototypeId: string,
  ids: readonly string[],
  options: { seenSince?: number; timeoutMs: number; intervalMs: number },
): Promise<{ at: number; polls: number; online: number }> {
  const wanted = new Set(ids);
  const deadline = Date.now() + options.timeoutMs;
  let polls = 0;

  for (;;) {
    polls++;
    const list = await server.api<DeviceListEntry[]>('GET', `/prototypes/${prototypeId}/devices`);
    const at = Date.now();
    const online = list.filter(
      (entry) =>
        wanted.has(entry.deviceId) &&
        entry.presence.online &&
        (options.seenSince === undefined ||
          (entry.presence.lastSeen !== null && Date.parse(entry.presence.lastSeen) >= options.seenSince)),
    ).length;
    if (online === wanted.size) return { at, polls, online };
    if (at > deadline) {
      throw server.failure(`only ${online} of ${wanted.size} devices online after ${options.timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
