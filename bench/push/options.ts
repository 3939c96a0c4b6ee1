import { resolve } from 'node:path';
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
  const options = {
    devices: 10_000,
    maxConnections: 19_500,
    clients: 5,
    mqttClient: 'lean' as MqttClientKind,
    skipFanout: false,
    skipStorm: false,
    skipLimit: false,
    heartbeatPeriodS: 10,
    heartbeatWindowS: 30,
    writeGapMs: undefined as number | undefined,
    selection: 'ids' as 'ids' | 'online',
    profileDir: undefined as string | undefined,
  };
  const integer = (flag: string, text: string | undefined, min: number, max: number): number => {
    const value = Number(text);
    if (text === undefined || !/^\d+$/.test(text) || value < min || value > max) {
      throw new Error(`${flag} needs a whole number from ${min} to ${max}\n${USAGE}`);
    }
    return value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    switch (arg) {
      case '--devices':
        options.devices = integer(arg, args[++i], 2, 10_000);
        break;
      case '--max-connections':
        options.maxConnections = integer(arg, args[++i], 1, 100_000);
        break;
      case '--clients':
        options.clients = integer(arg, args[++i], 1, 16);
        break;
      case '--heartbeat-window':
        options.heartbeatWindowS = integer(arg, args[++i], 5, 600);
        break;
      case '--mqtt-client': {
        const kind = args[++i];
        if (kind !== 'lean' && kind !== 'mqttjs') throw new Error(`--mqtt-client is lean or mqttjs\n${USAGE}`);
        options.mqttClient = kind;
        break;
      }
      case '--write-gap-ms':
        options.writeGapMs = integer(arg, args[++i], 0, 60_000);
        break;
      case '--selection': {
        const kind = args[++i];
        if (kind !== 'ids' && kind !== 'online') throw new Error(`--selection is ids or online\n${USAGE}`);
        options.selection = kind;
        break;
      }
      case '--profile': {
        const dir = args[++i];
        if (dir === undefined || dir.startsWith('--')) throw new Error(`--profile needs a folder\n${USAGE}`);
        options.profileDir = resolve(dir);
        break;
      }
      case '--skip-fanout':
        options.skipFanout = true;
        break;
      case '--skip-storm':
        options.skipStorm = true;
        break;
      case '--skip-limit':
        options.skipLimit = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg}\n${USAGE}`);
    }
  }
  return options;
}
