import { integer, readFlags, SWITCH } from '../lib/options.js';

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
  const given = readFlags(
    args,
    {
      devices: integer(2, 50_000),
      nodes: integer(2, 8),
      large: integer(2, 200_000),
      workers: integer(1, 16),
      swarms: integer(1, 40),
      'push-bound': integer(10, 3600),
      'via-api': integer(0, 200_000),
      'load-seconds': integer(1, 120),
      'skip-nodes': SWITCH,
      'skip-large': SWITCH,
      'skip-peer': SWITCH,
    },
    USAGE,
  );
  const number = (name: string, fallback: number) => (given.get(name) as number | undefined) ?? fallback;
  const large = number('large', 100_000);
  const swarms = number('swarms', Math.max(2, Math.ceil(large / 10_000)));
  if (Math.ceil(large / swarms) > 18_000) {
    throw new Error(
      `--swarms ${swarms} would give a swarm more than 18,000 devices (each process may open 20,000 files)`,
    );
  }
  return {
    devices: number('devices', 10_000),
    nodes: number('nodes', 3),
    large,
    workers: number('workers', 7),
    swarms,
    pushBoundS: number('push-bound', 300),
    viaApi: number('via-api', 1000),
    loadSeconds: number('load-seconds', 10),
    skipNodes: given.has('skip-nodes'),
    skipLarge: given.has('skip-large'),
    skipPeer: given.has('skip-peer'),
  };
}
