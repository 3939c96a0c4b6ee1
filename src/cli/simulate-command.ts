import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  runSimulation,
  type MqttBroker,
  type ProtocolChoice,
  type SimulationEvent,
  type SimulationRun,
  type SimulationSummary,
} from '../simulator/index.js';
import { statsLine, versionsText } from '../simulator/stats-text.js';
import { cliErrorOf, connect } from './api-connection.js';
import { CliError, isCliError } from './cli-error.js';
import { withApiOptions, type ApiOptions } from './command-options.js';
import { formatBytes, print, printable, summary, table } from './output.js';

interface SimulateOptions extends ApiOptions {
  readonly prototype: string;
  readonly devices: number;
  readonly protocol: ProtocolChoice;
  readonly startVersion?: string;
  readonly mqttUrl?: string;
  readonly duration?: number;
}

/** Lines about single devices (failures, problems) printed at most, so a storm cannot flood the terminal. */
const MAX_DEVICE_LINES = 50;
/** How often the live line is redrawn on a terminal, and written at most when stderr is not one. */
const TTY_REFRESH_MS = 250;
const LOG_REFRESH_MS = 10_000;

/** `fota simulate`: simulated MCS devices against a fota server. */
export function registerSimulateCommand(program: Command): void {
  withApiOptions(
    program
      .command('simulate')
      .description('run simulated MCS devices (TCP and MQTT) that report, receive FOTA, download and upgrade')
      .requiredOption('--prototype <prototypeId>', 'required: the prototype whose devices to simulate')
      .option('--devices <n>', 'how many devices: sim-0001 … are reused or created', positiveInteger, 4)
      .addOption(
        new Option('--protocol <protocol>', 'how devices receive commands; mix alternates TCP and MQTT')
          .choices(['tcp', 'mqtt', 'mix'])
          .default('mix'),
      )
      .option('--start-version <version>', "version each device reports first (default: the prototype's lowest)")
      .addOption(
        new Option('--mqtt-url <url>', 'MQTT broker (default: the one the server names, see `fota info`)')
          .env('FOTA_MQTT_URL')
          .helpGroup('Server options:'),
      )
      .option('--duration <seconds>', 'stop after this many seconds (default: run until Ctrl-C)', positiveNumber),
    'print the final summary as one JSON object on stdout, for scripts',
  )
    .addHelpText(
      'after',
      `
Each device reports its start version, then holds a command link like a real MCS client:
TCP devices fetch connections.csv, connect and send heartbeats in the habits of the Python
tutorial, mcsjs, mcs.c, the 7697 Arduino library and the LinkIt ONE sample, in turn; MQTT
devices alternate MQTT 3.1 and 3.1.1 and subscribe to mcs/<deviceId>/<deviceKey>/+. On
each FOTA message a device uploads status,,fotaing, downloads the firmware, checks its size
and MD5, and reports the new version. Dropped connections come back after 0.5-1 s, doubling
up to 15 s. A live line on stderr counts what happens, and the first connection that fails
or drops for each reason is named there (\`mqtt connection refused or lost: connect
ECONNREFUSED 127.0.0.1:1883 …\`); the others are counted. A summary ends on stdout.

TCP devices connect where connections.csv tells them; MQTT devices connect to the broker the
server names (GET /api/v1/server, as \`fota info\` shows it), unless --mqtt-url says otherwise.

Examples:
  $ fota simulate --prototype P4cjC0Jd3XwE --devices 10
  $ fota simulate --prototype P4cjC0Jd3XwE --devices 200 --protocol tcp --duration 120 --json

Then push a firmware to the sim-… devices (console or API) and watch them upgrade.`,
    )
    .action(simulate);
}

async function simulate(options: SimulateOptions): Promise<void> {
  // The URL and the token are checked before any device starts.
  connect(options);
  const stop = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const live = new LiveLine(process.stderr);
  let deviceLines = 0;
  let broker: MqttBroker | undefined;
  const onEvent = (event: SimulationEvent) => {
    if (event.type === 'simulation.started') {
      live.note(
        `Simulating ${event.tcp + event.mqtt} devices of ${event.prototypeId} (tcp ${event.tcp}, mqtt ${event.mqtt}) from version ${event.startVersion}; ${options.duration === undefined ? 'Ctrl-C to stop' : `for ${options.duration} s`}`,
      );
      broker = event.broker;
      if (broker) live.note(`MQTT broker ${broker.url} (${brokerOrigin(broker)})`);
      return;
    }
    if (event.type === 'connection.problem') {
      // Every first of its kind, outside the limit on device lines: these say why nothing connects.
      live.note(
        `${event.protocol} connection refused or lost: ${event.reason} (first: ${event.deviceId}; ${event.protocol === 'tcp' ? "address from connections.csv, the server's FOTA_TCP_PUBLIC_HOST and FOTA_TCP_PORT" : `broker ${broker?.url ?? '?'}, ${broker ? brokerOrigin(broker) : ''}`})`,
      );
      return;
    }
    const line = deviceLine(event);
    if (line === undefined) return;
    deviceLines++;
    if (deviceLines <= MAX_DEVICE_LINES) live.note(line);
    else if (deviceLines === MAX_DEVICE_LINES + 1) live.note('(more device messages not shown; see the summary)');
  };

  const url = options.url;
  let run: SimulationRun | undefined;
  let result: SimulationSummary;
  try {
    run = runSimulation(
      {
        url,
        token: options.token ?? '',
        prototypeId: options.prototype,
        devices: options.devices,
        protocol: options.protocol,
        startVersion: options.startVersion,
        mqttUrl: options.mqttUrl,
        durationMs: options.duration === undefined ? undefined : options.duration * 1000,
        signal: stop.signal,
      },
      onEvent,
    );
    const current = run;
    live.start(() => statsLine(current.stats()));
    result = await run.done;
  } catch (error) {
    const reported = cliErrorOf(error);
    throw isCliError(reported)
      ? reported
      : new CliError(reported instanceof Error ? reported.message : String(reported));
  } finally {
    live.end();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  print(options.json ? `${JSON.stringify(result, null, 2)}\n` : readable(result));
}

/** Who chose the broker, and how to choose another. */
function brokerOrigin(broker: MqttBroker): string {
  switch (broker.from) {
    case 'option':
      return 'set by --mqtt-url or FOTA_MQTT_URL';
    case 'server':
      return 'from the server';
    case 'default':
      return 'the default: the server does not say; set --mqtt-url or FOTA_MQTT_URL';
  }
}

/** A line for the events worth a line of their own; the rest only moves the counters. */
function deviceLine(event: SimulationEvent): string | undefined {
  switch (event.type) {
    case 'fota.failed':
      return `${event.deviceId}: FOTA ${event.version} failed: ${event.reason}`;
    case 'device.problem':
      return `${event.deviceId}: ${event.message}`;
    default:
      return undefined;
  }
}

function readable(result: SimulationSummary): string {
  const devices = result.devices.tcp + result.devices.mqtt;
  const lines = [
    `Simulated ${devices} devices of ${result.prototypeId} for ${(result.elapsedMs / 1000).toFixed(0)} s, from version ${result.startVersion}\n`,
    summary([
      ['devices', `tcp ${result.devices.tcp}, mqtt ${result.devices.mqtt}`],
      ['FOTA received', String(result.fotaReceived)],
      ['upgraded', String(result.upgraded)],
      ['failed', String(result.failed)],
      ['reconnects', String(result.disconnects)],
      ['heartbeats', `${result.heartbeats} sent, ${result.echoes} echoed`],
      ['downloaded', formatBytes(result.bytesDownloaded)],
      ['versions now', versionsText(result.versions)],
    ]),
  ];
  if (result.connectionProblems.length > 0) {
    lines.push('Connection problems:\n');
    lines.push(
      table(
        ['  PROTOCOL', 'TIMES', 'REASON'],
        result.connectionProblems.map((problem) => [`  ${problem.protocol}`, String(problem.count), problem.reason]),
      ),
    );
  }
  if (result.failures.length > 0) {
    lines.push('Failures:\n');
    for (const failure of result.failures) {
      lines.push(`  ${failure.deviceId}  ${printable(failure.version)}  ${printable(failure.reason)}\n`);
    }
  }
  return lines.join('');
}

/**
 * The live summary on stderr: on a terminal one line redrawn in place, with device messages
 * printed above it; otherwise (a log file, CI) the line is written when it changed, at most every
 * 10 s, so logs stay readable.
 */
class LiveLine {
  private timer: NodeJS.Timeout | undefined;
  private render: (() => string) | undefined;
  private shown = '';
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.tty = stream.isTTY === true;
  }

  start(render: () => string): void {
    this.render = render;
    this.timer = setInterval(() => this.draw(), this.tty ? TTY_REFRESH_MS : LOG_REFRESH_MS);
  }

  /** A line of its own, above the live line. */
  note(text: string): void {
    if (this.tty && this.shown !== '') this.stream.write('\r\x1b[K');
    this.stream.write(`${printable(text)}\n`);
    if (this.tty && this.shown !== '') this.stream.write(this.shown);
  }

  /** Stops redrawing, leaving the last counts seen while devices ran (the summary follows on stdout). */
  end(): void {
    clearInterval(this.timer);
    if (this.tty && this.shown !== '') this.stream.write('\n');
    this.shown = '';
  }

  private draw(): void {
    const line = this.render?.() ?? '';
    if (line === this.shown) return;
    this.shown = line;
    this.stream.write(this.tty ? `\r\x1b[K${line}` : `${line}\n`);
  }
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 100_000) {
    throw new InvalidArgumentError('must be a whole number from 1 to 100000');
  }
  return value;
}

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value <= 0) throw new InvalidArgumentError('must be a number of seconds above 0');
  return value;
}
