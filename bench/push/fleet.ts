import { join } from 'node:path';
import { fileInMemory } from '../lib/files.js';
import type { FirmwareAnswer } from '../lib/fota-server.js';
import { progress } from '../lib/report.js';
import type { Resources } from '../lib/resources.js';
import type { PushBenchOptions } from './options.js';
import { connectPhase, type ConnectFigures } from './phases.js';
import { profileEnv, ServerProfiler } from './profiler.js';
import type { FotaExpectation, Protocol, SwarmDevice } from './protocol.js';
import { createDevices, shares, startPushServer, waitAllOnline, withProtocols, type PushServer } from './server.js';
import type { Swarms } from './swarms.js';

/** Heartbeat period of the TCP devices of parts 1 and 3 (mcsjs and the LinkIt ONE use 50 s). */
export const FLEET_HEARTBEAT_MS = 50_000;
/** MQTT keepalive of every MQTT client (mqtt.js and paho-python use 60 s). */
export const KEEPALIVE_S = 60;
/** Connections each swarm opens at once while connecting a fleet. */
export const CONNECT_CONCURRENCY = 50;
/** FOTA_TCP_WRITE_GAP_MS when the bench does not set it (src/config.ts). */
export const DEFAULT_WRITE_GAP_MS = 1000;

/** TCP devices the probe heartbeats in turn: each waits 80 × the probe interval, more than the write gap. */
export const PROBE_TCP_DEVICES = 80;

/** The devices of parts 1 and 3 on their fota server, and the firmware they are pushed. */
export interface Fleet {
  readonly server: PushServer;
  /** Devices of the probe prototype: TCP ones for heartbeats, one MQTT one for pings. */
  readonly probeDevices: { readonly tcp: readonly SwarmDevice[]; readonly mqtt: SwarmDevice };
  /** The server's write gap between two messages to one TCP socket. */
  readonly writeGapMs: number;
  /** Set with `--profile`: profiles stretches of the server. */
  readonly profiler: ServerProfiler | undefined;
  readonly prototypeId: string;
  readonly from: FirmwareAnswer;
  readonly to: FirmwareAnswer;
  readonly devices: readonly SwarmDevice[];
  /** `devices` dealt out to the swarms. */
  readonly shares: readonly (readonly SwarmDevice[])[];
  readonly createSeconds: number;
  readonly reportSeconds: number;
}

/**
 * A fresh fota server, a prototype with firmware 1.0.0 and 2.0.0 (prerequisite 1.0.0), and
 * `options.devices` devices created through the management API, each of which reports 1.0.0 through
 * the MCS device API from its swarm, so that the push is compatible without `force`.
 */
export async function prepareFleet(
  resources: Resources,
  swarms: Swarms,
  options: PushBenchOptions,
  root: string,
): Promise<Fleet> {
  progress('fleet: starting the fota server');
  const env: NodeJS.ProcessEnv = {
    ...(options.writeGapMs === undefined ? {} : { FOTA_TCP_WRITE_GAP_MS: String(options.writeGapMs) }),
    ...(options.profileDir === undefined ? {} : profileEnv(options.profileDir)),
  };
  const server = await startPushServer(resources, join(root, 'data-fleet'), env);
  const profiler = options.profileDir ? await ServerProfiler.create(server.child.pid, options.profileDir) : undefined;
  const { prototypeId } = await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'bench push' });
  const from = await server.upload(
    prototypeId,
    { name: 'from', version: '1.0.0', releaseNote: 'running', prerequisites: 'all' },
    fileInMemory('from.bin', Buffer.alloc(1024, 1)),
  );
  const to = await server.upload(
    prototypeId,
    { name: 'to', version: '2.0.0', releaseNote: 'pushed', prerequisites: from.fwId },
    fileInMemory('to.bin', Buffer.alloc(1024, 2)),
  );
  progress(`fleet: creating ${options.devices} devices through the management API`);
  const created = await createDevices(server, prototypeId, options.devices, 'fleet');
  const probes = await createDevices(server, server.probePrototypeId, PROBE_TCP_DEVICES + 1, 'probe');
  const probeDevices = {
    tcp: probes.devices.slice(1).map((device) => ({ ...device, protocol: 'tcp' as const })),
    mqtt: { ...probes.devices[0]!, protocol: 'mqtt' as const },
  };
  const devices = withProtocols(created.devices);
  const dealt = shares(devices, swarms.count);
  progress(`fleet: each device reports version 1.0.0 (PUT /mcs/v2/devices/:id/firmwares)`);
  const reportStart = Date.now();
  await swarms.all(
    (index) => ({ cmd: 'report', url: server.url, version: from.version, devices: dealt[index]!, concurrency: 2 }),
    10 * 60_000,
  );
  return {
    server,
    probeDevices,
    writeGapMs: options.writeGapMs ?? DEFAULT_WRITE_GAP_MS,
    profiler,
    prototypeId,
    from,
    to,
    devices,
    shares: dealt,
    createSeconds: created.seconds,
    reportSeconds: (Date.now() - reportStart) / 1000,
  };
}

/** The FOTA message every fleet device must receive for a push of `fleet.to`. */
export function fleetExpectation(fleet: Fleet, notBefore: number): FotaExpectation {
  return {
    version: fleet.to.version,
    md5: fleet.to.md5,
    urlPrefix: `${fleet.server.url}/fw/p/`,
    notBefore,
  };
}

/** The fleet's connections, measured apart: the TCP devices first, then the MQTT ones. */
export interface FleetConnect {
  readonly tcp: ConnectFigures;
  readonly mqtt: ConnectFigures;
}

/**
 * Connects every fleet device to the fota server, the TCP devices, then (kept open) the MQTT ones,
 * and waits until the management API shows all online.
 */
export async function connectFleet(fleet: Fleet, swarms: Swarms, options: PushBenchOptions): Promise<FleetConnect> {
  const { server } = fleet;
  await swarms.all(() => ({ cmd: 'heartbeats', periodMs: FLEET_HEARTBEAT_MS }), 10_000);
  const phase = (protocol: Protocol, append: boolean, confirm?: () => Promise<unknown>) =>
    connectPhase(
      swarms,
      server.child.pid,
      (index) => ({
        target: { host: '127.0.0.1', tcpPort: server.tcpPort, mqttPort: server.mqttPort },
        devices: fleet.shares[index]!.filter((device) => device.protocol === protocol),
        localAddress: undefined,
        concurrency: CONNECT_CONCURRENCY,
        ackTimeoutMs: 60_000,
        stopOnFailure: false,
        mqttClient: options.mqttClient,
        keepaliveS: KEEPALIVE_S,
        append,
      }),
      confirm,
    );
  const count = (protocol: Protocol) => fleet.devices.filter((device) => device.protocol === protocol).length;
  progress(`fleet: connecting ${count('tcp')} TCP devices from ${swarms.count} swarm processes`);
  fleet.profiler?.start('connect-tcp');
  const tcp = await phase('tcp', false);
  await fleet.profiler?.stop();
  progress(`fleet: connecting ${count('mqtt')} MQTT devices from ${swarms.count} swarm processes`);
  fleet.profiler?.start('connect-mqtt');
  const mqtt = await phase('mqtt', true, async () => {
    await fleet.profiler?.stop();
    return waitAllOnline(
      server,
      fleet.prototypeId,
      fleet.devices.map((device) => device.id),
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  });
  for (const figures of [tcp, mqtt]) {
    if (figures.failed > 0) {
      throw server.failure(`${figures.failed} devices could not connect to fota; the first: ${figures.firstError}`);
    }
  }
  return { tcp, mqtt };
}
