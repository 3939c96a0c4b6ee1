import { choice, FOLDER, integer, readFlags, SWITCH } from '../lib/options.js';
import type { MqttClientKind } from './protocol.js';

export interface PushBenchOptions {
  /** Devices of the fan-out and the reconnect storm, half TCP and half MQTT (at most one push: 10 000). */
  readonly devices: number;
  /** Bound of the connection-limit ramp. */
  readonly maxConnections: number;
  /** Swarm processes. */
  readonly clients: number;
  readonly mqttClient: MqttClientKind;
  readonly skipFanout: boolean;
  readonly skipStorm: boolean;
  readonly skipLimit: boolean;
  /** Heartbeat period and measured window of the connection-limit part. */
  readonly heartbeatPeriodS: number;
  readonly heartbeatWindowS: number;
  /** FOTA_TCP_WRITE_GAP_MS of the fleet's server; undefined keeps the server's default (1000). */
  readonly writeGapMs: number | undefined;
  /** How the push names its devices: the 10,000 ids, or `selection: "online"`. */
  readonly selection: 'ids' | 'online';
  /** Writes CPU profiles of the fleet server (connect, push, storm) to this folder. */
  readonly profileDir: string | undefined;
}

export const USAGE = `usage: npm run bench:push -- [options]
  --devices N           devices of the fan-out and the reconnect storm, half TCP, half MQTT (default 10000, at most 10000)
  --max-connections N   bound of the connection-limit ramp (default 19500; the server may open 20000 files)
  --clients N           swarm processes holding the connections (default 5)
  --mqtt-client KIND    lean (default: a hand-written MQTT 3.1.1 client) or mqttjs (the mqtt package)
  --heartbeat-window S  seconds of the measured heartbeat window in the connection-limit part (default 30)
  --skip-fanout         skip part 1 (fan-out, and its mosquitto anchor)
  --skip-limit          skip part 2 (connection limit)
  --skip-storm          skip part 3 (reconnect storm)
  --write-gap-ms N      FOTA_TCP_WRITE_GAP_MS of the fleet's fota server (default: the server's, 1000)
  --selection KIND      the push names the devices by ids (default) or by selection "online"
  --profile DIR         CPU profiles of the fleet's server while connecting, pushing and in the storm, to DIR`;

export function parseOptions(args: readonly string[]): PushBenchOptions {
  const given = readFlags(
    args,
    {
      devices: integer(2, 10_000),
      'max-connections': integer(1, 100_000),
      clients: integer(1, 16),
      'heartbeat-window': integer(5, 600),
      'mqtt-client': choice('lean', 'mqttjs'),
      'write-gap-ms': integer(0, 60_000),
      selection: choice('ids', 'online'),
      profile: FOLDER,
      'skip-fanout': SWITCH,
      'skip-storm': SWITCH,
      'skip-limit': SWITCH,
    },
    USAGE,
  );
  const number = (name: string, fallback: number) => (given.get(name) as number | undefined) ?? fallback;
  return {
    devices: number('devices', 10_000),
    maxConnections: number('max-connections', 19_500),
    clients: number('clients', 5),
    mqttClient: (given.get('mqtt-client') as MqttClientKind | undefined) ?? 'lean',
    skipFanout: given.has('skip-fanout'),
    skipStorm: given.has('skip-storm'),
    skipLimit: given.has('skip-limit'),
    heartbeatPeriodS: 10,
    heartbeatWindowS: number('heartbeat-window', 30),
    writeGapMs: given.get('write-gap-ms') as number | undefined,
    selection: (given.get('selection') as 'ids' | 'online' | undefined) ?? 'ids',
    profileDir: given.get('profile') as string | undefined,
  };
}
