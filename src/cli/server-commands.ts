import type { Command } from 'commander';
import { connect } from './api-connection.js';
import { CliError } from './cli-error.js';
import { show, withApiOptions, type ApiOptions } from './command-options.js';
import { openEventStream } from './event-stream.js';
import { print, printable, summary } from './output.js';

/** `fota info` and `fota events`: what the server is, and what happens on it live. */
export function registerServerCommands(program: Command): void {
  withApiOptions(
    program.command('info').description("print the server's version and where devices reach it: HTTP, TCP and MQTT"),
  )
    .addHelpText(
      'after',
      `
The addresses are the server's public settings: FOTA_PUBLIC_URL for the MCS device API and
downloads, FOTA_TCP_PUBLIC_HOST and FOTA_TCP_PORT for the TCP command server (what
connections.csv answers), and the same host with FOTA_MQTT_PORT for the MQTT broker.
\`fota simulate\` reads them too.

Examples:
  $ fota info
  $ fota info --json | jq -r '"mqtt://" + .mqtt.host + ":" + (.mqtt.port | tostring)'`,
    )
    .action(async (options: ApiOptions) => {
      const answer = await connect(options).serverInfo();
      show(options, answer, (info) =>
        [
          `fota ${info.version} at ${options.url}\n`,
          summary([
            ['device API, downloads', info.publicUrl],
            ['TCP command server', `${info.tcp.host}:${info.tcp.port}`],
            ['MQTT broker', `mqtt://${info.mqtt.host}:${info.mqtt.port}`],
          ]),
        ].join(''),
      );
    });

  withApiOptions(
    program
      .command('events')
      .description('follow live events until Ctrl-C: devices going online and offline, push progress'),
    'print each event as one line of JSON, {"event","data"}, for scripts',
  )
    .addHelpText(
      'after',
      `
Reads the server's event stream (GET /api/v1/events): one line per event on stdout, from the
moment "Following the events" shows on stderr. With --json each line is
{"event":<name>,"data":<the event's JSON as the server sent it>}.
When the stream breaks (the server stopped) the command ends with status 1.

Examples:
  $ fota events
  $ fota events --json | jq -r 'select(.event == "push.progress") | .data.deviceId + " " + .data.status'`,
    )
    .action(async (options: ApiOptions) => {
      await followEvents(options);
    });
}

function followEvents(options: ApiOptions): Promise<void> {
  const client = connect(options);
  return new Promise<void>((resolve, reject) => {
    const stop = () => {
      stream.stop();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    const stream = openEventStream(client, {
      // On stderr, with --json too: stdout keeps the events alone.
      open: () => process.stderr.write(`Following the events of ${options.url}; Ctrl-C to stop\n`),
      event: (name, data) =>
        print(options.json ? `{"event":${JSON.stringify(name)},"data":${data}}\n` : eventLine(name, data)),
      close: (problem) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        reject(new CliError(problem.message));
      },
    });
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `2026-11-27T08:16:58Z  device.online  D1UoYvqt  tcp`. */
function eventLine(name: string, data: string): string {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return `${printable(name)}  ${printable(data)}\n`;
  }
  const text = (key: string) => (typeof value[key] === 'string' ? (value[key] as string) : '');
  const at = text('at').replace(/\.\d+Z$/, 'Z');
  const fields =
    name === 'push.progress'
      ? [text('pushId'), text('deviceId'), text('status'), text('reason')]
      : [text('deviceId'), text('protocol')];
  return `${printable([at, name, ...fields].filter(Boolean).join('  '))}\n`;
}
