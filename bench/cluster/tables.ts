import { fixed, ratio, table } from '../lib/report.js';
import type { PartReport } from '../api/part.js';
import type { ConnectStage, PushStage } from './fleet.js';
import type { LargeFigures } from './large.js';
import type { ScaleFigures } from './scale.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const µs = (secondsTotal: number, count: number): string => fixed((secondsTotal * 1e6) / Math.max(1, count), 0);
const ms = (value: number): string => (Number.isFinite(value) ? fixed(value, 0) : '-');
const thousands = (value: number): string => value.toLocaleString('en-US');

function pushRow(label: string, push: PushStage, engineCpu: number | undefined): string[] {
  return [
    label,
    thousands(push.expected),
    thousands(push.all.count),
    ms(push.all.p50),
    ms(push.all.p99),
    ms(push.all.max),
    ms(push.answerMs),
    fixed(push.serverCpuSettledSeconds, 2),
    µs(push.serverCpuSettledSeconds, push.all.count),
    engineCpu === undefined ? '-' : fixed(engineCpu, 2),
    fixed(push.clientCpuSeconds, 2),
  ];
}

const PUSH_HEADERS = [
  'fota',
  'devices',
  'received',
  'p50 ms',
  'p99 ms',
  'last ms',
  'push answer ms',
  'fota CPU s',
  'fota CPU µs / device',
  'engines CPU s',
  'client CPU s',
];

export function scaleReport(runs: readonly ScaleFigures[]): PartReport {
  const [one, many] = runs;
  const listingRow = (run: ScaleFigures) => [
    run.label,
    thousands(run.listing.requests),
    fixed(run.listing.requestsPerSecond, 0),
    ms(run.listing.p99Ms),
    fixed(run.listing.serverCpuSeconds, 2),
    fixed((run.listing.serverCpuSeconds * 1000) / Math.max(1, run.listing.requests), 3),
    fixed(run.listing.engineCpuSeconds, 2),
    fixed(run.listing.clientCpuSeconds, 2),
  ];
  const lines = [
    `Every configuration: PostgreSQL, Redis and one S3 bucket (OpenStack Swift) shared by the nodes; ${thousands(one?.created ?? 0)} devices created through the management API (dealt over the nodes), ${thousands(one?.inserted ?? 0)} more written into PostgreSQL directly; devices connect round robin to the nodes; ONE push (selection "all") sent to the first node. "engines CPU" is PostgreSQL, Redis and Swift.`,
    '',
    table(
      PUSH_HEADERS,
      runs.map((run) => pushRow(run.label, run.push, run.pushEngineCpuSeconds)),
    ),
    '',
    table(
      ['connect', 'TCP s', 'TCP fota CPU µs / device', 'MQTT s', 'MQTT fota CPU µs / device', 'fota RSS MiB after'],
      runs.map((run) => [
        run.label,
        fixed(run.connect[0]!.seconds, 1),
        µs(run.connect[0]!.serverCpuSeconds, run.connect[0]!.connected),
        fixed(run.connect[1]!.seconds, 1),
        µs(run.connect[1]!.serverCpuSeconds, run.connect[1]!.connected),
        fixed(run.connect[1]!.rssAfter / MiB, 0),
      ]),
    ),
    '',
    'Device API: GET /mcs/v2/devices/:id/firmwares/available, one device per node, autocannon connections dealt over the nodes, every body checked.',
    '',
    table(
      [
        'device API',
        'requests',
        'req/s',
        'worst p99 ms',
        'fota CPU s',
        'fota CPU ms / request',
        'engines CPU s',
        'client CPU s',
      ],
      runs.map(listingRow),
    ),
  ];
  if (one && many) {
    lines.push(
      '',
      table(
        [`ratio ${many.label} / ${one.label}`, 'value'],
        [
          ['push: time to the last device', ratio(many.push.all.max / one.push.all.max)],
          ['push: p99', ratio(many.push.all.p99 / one.push.all.p99)],
          [
            'push: fota CPU per device',
            ratio(
              many.push.serverCpuSettledSeconds /
                many.push.all.count /
                (one.push.serverCpuSettledSeconds / one.push.all.count),
            ),
          ],
          ['device API: req/s', ratio(many.listing.requestsPerSecond / one.listing.requestsPerSecond)],
          [
            'device API: fota CPU per request',
            ratio(
              many.listing.serverCpuSeconds /
                many.listing.requests /
                (one.listing.serverCpuSeconds / one.listing.requests),
            ),
          ],
        ],
      ),
    );
  }
  return { title: 'Part 1: one node and several nodes', text: lines.join('\n'), figures: { runs } };
}

function connectRow(label: string, stage: ConnectStage): string[] {
  const grown = stage.rssAfter - stage.rssBefore;
  return [
    label,
    thousands(stage.asked),
    thousands(stage.connected),
    fixed(stage.seconds, 1),
    fixed(stage.serverCpuSeconds, 2),
    µs(stage.serverCpuSeconds, stage.connected),
    fixed(grown / MiB, 0),
    fixed(grown / KiB / Math.max(1, stage.connected), 1),
    fixed(stage.clientCpuSeconds, 1),
  ];
}

export function largeReport(large: LargeFigures): PartReport {
  const lines: string[] = [
    `fota serve --workers ${large.workers} on PostgreSQL and Redis; ${thousands(large.created)} devices created through the management API in ${fixed(large.createSeconds, 0)} s (${fixed(large.created / large.createSeconds, 0)} per second), ${thousands(large.inserted)} more written into PostgreSQL directly in ${fixed(large.insertSeconds, 1)} s`,
    '',
    table(
      [
        'connect',
        'devices',
        'connected',
        's',
        'server CPU s',
        'CPU µs / device',
        'RSS growth MiB',
        'RSS KiB / device',
        'client CPU s',
      ],
      [
        ...large.connect.map((stage) => connectRow(`fota ${stage.protocol.toUpperCase()}`, stage)),
        ...(large.peer ? [connectRow(`mosquitto × ${large.peer.brokers} (MQTT)`, large.peer.connect)] : []),
      ],
    ),
    '',
  ];
  if (large.workerFds.length > 0) {
    lines.push(`open files per worker once connected: ${large.workerFds.join(', ')}`, '');
  }
  if (large.connect[1]) {
    lines.push(
      `fota RSS with every device connected (primary and workers summed): ${fixed(large.connect[1].rssAfter / MiB, 0)} MiB`,
      '',
    );
  }
  if (large.presence.present > 0) {
    lines.push(
      `presence of ${thousands(large.presence.present)} devices in Redis after ${fixed(large.presence.seconds, 1)} s`,
      '',
    );
  }
  const rows: string[][] = [];
  if (large.push) rows.push(pushRow(`fota --workers ${large.workers}`, large.push, large.pushEngineCpuSeconds));
  if (large.peer) {
    const d = large.peer.delivery;
    rows.push([
      `mosquitto × ${large.peer.brokers}`,
      thousands(d.expected),
      thousands(d.all.count),
      ms(d.all.p50),
      ms(d.all.p99),
      ms(d.all.max),
      `${ms(large.peer.publishLoopMs)} (publish loop)`,
      fixed(d.serverCpuSettledSeconds, 2),
      µs(d.serverCpuSettledSeconds, d.all.count),
      '-',
      fixed(d.clientCpuSeconds, 2),
    ]);
  }
  if (rows.length > 0) lines.push(table(PUSH_HEADERS, rows), '');
  if (large.push?.final) lines.push(`push targets once done: ${JSON.stringify(large.push.final)}`, '');
  if (large.push && large.peer) {
    const d = large.peer.delivery;
    lines.push(
      table(
        ['ratio fota / mosquitto', 'value'],
        [
          ['time to the last device', ratio(large.push.all.max / d.all.max)],
          ['p99', ratio(large.push.all.p99 / d.all.p99)],
          [
            'server CPU per device',
            ratio(
              large.push.serverCpuSettledSeconds / large.push.all.count / (d.serverCpuSettledSeconds / d.all.count),
            ),
          ],
          ...(large.connect[1]
            ? [
                [
                  'RSS per MQTT connection',
                  ratio(
                    (large.connect[1].rssAfter - large.connect[1].rssBefore) /
                      large.connect[1].connected /
                      ((large.peer.connect.rssAfter - large.peer.connect.rssBefore) / large.peer.connect.connected),
                  ),
                ],
              ]
            : []),
        ],
      ),
      '',
    );
  }
  const problems = [...(large.push?.bad ?? []), ...(large.peer?.delivery.bad ?? [])];
  if (problems.length > 0) lines.push(`problems: ${problems.slice(0, 10).join('; ')}`, '');
  if (large.stopped) lines.push(`STOPPED at ${large.stopped}`);
  return {
    title: `Part 2: ${thousands(large.asked)} devices on one machine`,
    text: lines.join('\n'),
    figures: { large },
  };
}
