export interface ClusterBenchOptions {
  /** Part 1: devices of the push, half TCP, half MQTT, with one node and with `nodes` nodes. */
  readonly devices: number;
  readonly nodes: number;
  /** Part 2: devices held by `fota serve --workers N`, half TCP, half MQTT. */
  readonly large: number;
  readonly workers: number;
  /** Part 2: swarm processes (each may open 20,000 files; 10,000 devices each by default). */
  readonly swarms: number;
  /** Seconds the push (and mosquitto's fan-out) may take to reach the last device before it is reported as unfinished. */
  readonly pushBoundS: number;
  /** Devices created through the management API per configuration; the rest are written into PostgreSQL directly. */
  readonly viaApi: number;
  /** Seconds of autocannon load on the device API per configuration (after a 2 s warm-up). */
  readonly loadSeconds: number;
  readonly skipNodes: boolean;
  readonly skipLarge: boolean;
  readonly skipPeer: boolean;
}

export const USAGE = `usage: npm run bench:cluster -- [options]
Part 1: push fan-out and device API throughput with one fota node and with --nodes separate
\`fota serve\` processes sharing PostgreSQL, Redis and an S3 bucket (OpenStack Swift).
Part 2: --large devices held by one \`fota serve --workers N\` (PostgreSQL, Redis), ONE push with
selection "all" to every one of them, against mosquitto processes delivering the same messages.
Downloads in redirect mode against nginx: npm run bench:downloads-redirect (not repeated here).
  --devices N        part 1: devices, half TCP, half MQTT (default 10000)
  --nodes N          part 1: nodes of the cluster configuration (default 3)
  --large N          part 2: devices, half TCP, half MQTT (default 100000)
  --workers N        part 2: fota serve --workers N (default 7: 100,000 / 7 is under each worker's budget)
  --swarms N         part 2: swarm processes holding the devices (default: one per 10,000 devices)
  --push-bound S     seconds a push may take to reach its last device before it is reported unfinished (default 300)
  --via-api N        devices created through the management API in each configuration (default 1000, at most
                     300 s of it); the rest are written into PostgreSQL directly, in the rows the API writes
  --load-seconds S   part 1: seconds of device API load per configuration (default 10)
  --skip-nodes       skip part 1
  --skip-large       skip part 2
  --skip-peer        skip part 2's mosquitto peer
  --help             this text`;

export function parseOptions(args: readonly string[]): ClusterBenchOptions {
  const options = {
    devices: 10_000,
    nodes: 3,
    large: 100_000,
    workers: 7,
    swarms: 0,
    pushBoundS: 300,
    viaApi: 1000,
    loadSeconds: 10,
    skipNodes: false,
    skipLarge: false,
    skipPeer: false,
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
        options.devices = integer(arg, args[++i], 2, 50_000);
        break;
      case '--nodes':
        options.nodes = integer(arg, args[++i], 2, 8);
        break;
      case '--large':
        options.large = integer(arg, args[++i], 2, 200_000);
        break;
      case '--workers':
        options.workers = integer(arg, args[++i], 1, 16);
        break;
      case '--swarms':
        options.swarms = integer(arg, args[++i], 1, 40);
        break;
      case '--push-bound':
        options.pushBoundS = integer(arg, args[++i], 10, 3600);
        break;
      case '--via-api':
        options.viaApi = integer(arg, args[++i], 0, 200_000);
        break;
      case '--load-seconds':
        options.loadSeconds = integer(arg, args[++i], 1, 120);
        break;
      case '--skip-nodes':
        options.skipNodes = true;
        break;
      case '--skip-large':
        options.skipLarge = true;
        break;
      case '--skip-peer':
        options.skipPeer = true;
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
  const swarms = options.swarms || Math.max(2, Math.ceil(options.large / 10_000));
  if (Math.ceil(options.large / swarms) > 18_000) {
    throw new Error(
      `--swarms ${swarms} would give a swarm more than 18,000 devices (each process may open 20,000 files)`,
    );
  }
  return { ...options, swarms };
}
