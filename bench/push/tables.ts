import type { PartReport } from '../api/part.js';
import { fixed, mib, ratio, table } from '../lib/report.js';
import type { AnchorFigures } from './anchor.js';
import { PROBE_HTTP_INTERVAL_MS, PROBE_INTERVAL_MS, PROBE_TCP_INTERVAL_MS, type FotaFanout } from './fanout.js';
import type { Fleet, FleetConnect } from './fleet.js';
import type { Spread } from './measure.js';
import type { ConnectFigures, DeliveryFigures, ProbeFigures } from './phases.js';
import type { ProbeKind } from './protocol.js';
import type { LimitFigures } from './limit.js';
import type { StormFigures } from './storm.js';

const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(0) : '–');
const count = (value: number): string => value.toLocaleString('en-US');
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const perUnit = (total: number, units: number, scale: number, digits = 1): string =>
  units > 0 ? ((total / units) * scale).toFixed(digits) : '–';
const counters = (kernel: Record<string, number>): string =>
  Object.entries(kernel)
    .map(([name, value]) => `${name} ${count(value)}`)
    .join(', ');
const ratioOf = (a: number, b: number): string => (b > 0 && Number.isFinite(a / b) ? ratio(a / b) : '–');
const nonZero = (counts: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).filter(([, value]) => value !== 0));

/** The TCP and the MQTT connect phases as one. */
export function bothPhases(connect: FleetConnect): ConnectFigures {
  const { tcp, mqtt } = connect;
  return {
    connections: tcp.connections + mqtt.connections,
    failed: tcp.failed + mqtt.failed,
    firstError: tcp.firstError ?? mqtt.firstError,
    seconds: tcp.seconds + mqtt.seconds,
    serverCpuSeconds: tcp.serverCpuSeconds + mqtt.serverCpuSeconds,
    clientCpuSeconds: tcp.clientCpuSeconds + mqtt.clientCpuSeconds,
    rssBefore: tcp.rssBefore,
    rssAfter: mqtt.rssAfter,
    fdsBefore: tcp.fdsBefore,
    fdsAfter: mqtt.fdsAfter,
    confirmSeconds: mqtt.confirmSeconds,
    kernel: Object.fromEntries(
      Object.entries(tcp.kernel).map(([name, value]) => [name, value + (mqtt.kernel[name] ?? 0)]),
    ),
  };
}

const rssPer = (figures: ConnectFigures): number =>
  (figures.rssAfter - figures.rssBefore) / Math.max(1, figures.connections);
const cpuPer = (figures: ConnectFigures): number => figures.serverCpuSeconds / Math.max(1, figures.connections);

const PROBE_NAMES: Record<ProbeKind, string> = {
  http: 'HTTP GET /healthz',
  mqtt: 'MQTT PINGREQ → PINGRESP',
  tcp: 'TCP heartbeat → echo',
};

function probeRows(server: string, probe: ProbeFigures | undefined): string[][] {
  if (!probe) return [];
  return Object.entries(probe.kinds).map(([kind, figures]) => [
    `${server}, ${PROBE_NAMES[kind as ProbeKind]}`,
    count(figures.idle.count),
    fixed(figures.idle.p50, 1),
    fixed(figures.idle.p99, 1),
    fixed(figures.idle.max, 1),
    count(figures.push.count),
    fixed(figures.push.p50, 1),
    fixed(figures.push.p99, 1),
    fixed(figures.push.max, 1),
    figures.unansweredMs === undefined ? '–' : ms(figures.unansweredMs),
  ]);
}

/** The longest answer of any probe kind during the push, and which. */
function longestBlock(probe: ProbeFigures | undefined): { ms: number; kind: string } {
  let longest = { ms: NaN, kind: '–' };
  for (const [kind, figures] of Object.entries(probe?.kinds ?? {})) {
    const value = Math.max(figures.push.max, figures.unansweredMs ?? 0);
    if (!(value <= longest.ms)) longest = { ms: value, kind };
  }
  return longest;
}

function connectRow(name: string, figures: ConnectFigures): string[] {
  return [
    name,
    count(figures.connections),
    fixed(figures.seconds, 1),
    fixed(figures.serverCpuSeconds, 2),
    perUnit(figures.serverCpuSeconds, figures.connections, 1e3, 3),
    mib(figures.rssBefore),
    mib(figures.rssAfter),
    kib((figures.rssAfter - figures.rssBefore) / Math.max(1, figures.connections)),
    fixed(figures.clientCpuSeconds, 2),
  ];
}

const CONNECT_HEADERS = [
  'server',
  'connections',
  'wall s',
  'server CPU s',
  'server CPU ms per connection',
  'RSS before',
  'RSS connected',
  'RSS per connection',
  'client CPU s',
];

function deliveryRow(
  name: string,
  spread: Spread,
  delivery: DeliveryFigures,
  answer: string,
  withCpu: boolean,
): string[] {
  return [
    name,
    count(spread.count),
    ms(spread.p50),
    ms(spread.p99),
    ms(spread.max),
    answer,
    withCpu ? fixed(delivery.serverCpuToLastSeconds, 2) : '',
    withCpu ? fixed(delivery.serverCpuSettledSeconds, 2) : '',
    withCpu ? perUnit(delivery.serverCpuSettledSeconds, delivery.all.count, 1e6, 0) : '',
    withCpu ? fixed(delivery.clientCpuSeconds, 2) : '',
  ];
}

/** Part 1: the fan-out, fota against mosquitto. */
export function fanoutReport(
  fleet: Fleet,
  fleetConnect: FleetConnect,
  fota: FotaFanout,
  anchor: AnchorFigures | undefined,
  options: { clients: number; mqttClient: string },
): PartReport {
  const connect = bothPhases(fleetConnect);
  const tcp = fleet.devices.filter((device) => device.protocol === 'tcp').length;
  const lines: string[] = [];
  lines.push(
    `${count(fleet.devices.length)} devices (${count(tcp)} TCP, ${count(fleet.devices.length - tcp)} MQTT with the ${options.mqttClient} client), ` +
      `created through the management API in ${fixed(fleet.createSeconds, 1)} s (${perUnit(fleet.createSeconds, fleet.devices.length, 1e3, 2)} ms each), ` +
      `each reported ${fleet.from.version} over the MCS device API in ${fixed(fleet.reportSeconds, 1)} s; ` +
      `held by ${options.clients} swarm processes.`,
    '',
    'Connecting every device, 50 connections at a time per swarm (done when the server echoed the TCP heartbeat or sent the SUBACK); fota gets the TCP devices first, then the MQTT ones, each measured apart:',
    '',
  );
  const connectRows = [
    connectRow('fota, TCP devices', fleetConnect.tcp),
    connectRow('fota, MQTT devices', fleetConnect.mqtt),
    connectRow('fota, both', connect),
  ];
  if (anchor) connectRows.push(connectRow('mosquitto', anchor.connect));
  lines.push(
    table(CONNECT_HEADERS, connectRows),
    '',
    `After that, one \`GET /api/v1/prototypes/:pid/devices\` listed all ${count(fleet.devices.length)} devices online; the check took ${fixed(connect.confirmSeconds, 2)} s (not counted above). ` +
      `Kernel counters while connecting (whole machine): fota ${counters(connect.kernel)}${anchor ? `; mosquitto ${counters(anchor.connect.kernel)}` : ''}.`,
    '',
  );

  lines.push(
    'Fan-out: milliseconds from the push request (fota) or the first publish (mosquitto) until each device had its whole, well-formed FOTA message:',
    '',
  );
  const peer = anchor?.fanout;
  const answer = `answer ${ms(fota.answerMs)} ms`;
  const rows = [
    deliveryRow('fota, all devices', fota.all, fota, answer, true),
    deliveryRow('fota, TCP devices', fota.byProtocol.tcp, fota, '', false),
    deliveryRow('fota, MQTT devices', fota.byProtocol.mqtt, fota, '', false),
  ];
  if (anchor && peer) {
    rows.push(deliveryRow('mosquitto', peer.all, peer, `last PUBACK ${ms(peer.pubackMs)} ms`, true));
  }
  lines.push(
    table(
      [
        'fan-out',
        'messages',
        'p50 ms',
        'p99 ms',
        'max ms',
        'request / publisher',
        'server CPU s to last receipt',
        'server CPU s until quiet',
        'server CPU µs per message',
        'client CPU s',
      ],
      rows,
    ),
    '',
    `The push named its devices by ${fota.selection === 'ids' ? `their ${count(fota.devices)} ids` : '`selection: "online"`'} and answered 201 with its summary (${count(fota.answerBytes)} bytes) after ${ms(fota.answerMs)} ms: ` +
      `status ${fota.answer.status}, total ${count(fota.answer.total)}, counts ${JSON.stringify(nonZero(fota.answer.counts))}; once quiet it showed ${fota.final.status}, ${JSON.stringify(nonZero(fota.final.counts))}. ` +
      `The server was quiet again ${ms(fota.settledAfterMs)} ms after the request. ` +
      `Then \`GET /api/v1/pushes/:id\` took ${ms(fota.getMs)} ms, and paging through \`GET /pushes/:id/targets?limit=500\` (every device once, TCP ones \`sent\`, MQTT ones \`delivered\`) took ${fota.targetPages.pages} pages, ${ms(fota.targetPages.totalMs)} ms (longest page ${ms(fota.targetPages.maxPageMs)} ms). ` +
      `All ${count(fota.distinctTokens)} URLs were \`${fleet.server.url}/fw/p/<21 letters and digits>\` with distinct tokens. ` +
      `Write gap ${count(fota.writeGapMs)} ms: ${count(fota.tcpEchoedWithinGap)} TCP devices had read a heartbeat echo less than that before the push, or during it (their FOTA line may wait for the gap).`,
    '',
    `Probe, from a process of its own: one request of each kind in flight, the next one ${PROBE_INTERVAL_MS} ms (MQTT PINGREQ), ${PROBE_HTTP_INTERVAL_MS} ms (HTTP) or ${PROBE_TCP_INTERVAL_MS} ms (TCP heartbeats, over ${fleet.probeDevices.tcp.length} devices of another prototype in turn) after the previous one went out, or at once after a late answer; ` +
      `answer times in ms, for ${ms(fota.probe?.idleWindowMs ?? NaN)} ms before the push (the probe alone cost the server ${fixed(fota.probe?.idleServerCpuMsPerS ?? NaN, 1)} ms of CPU per s, about ${fixed(fota.probeCpuSeconds, 2)} s of the server CPU above) and from the push until 2 s after the last device had its message:`,
    '',
    table(
      ['probe', 'before: answers', 'p50', 'p99', 'max', 'push: answers', 'p50', 'p99', 'max', 'waiting at stop'],
      [...probeRows('fota', fota.probe), ...probeRows('mosquitto', peer?.probe)],
    ),
    '',
  );
  if (anchor && peer) {
    lines.push(
      `The publisher handed all ${count(peer.all.count)} PUBLISH packets to its socket in ${ms(peer.publishLoopMs)} ms; mosquitto was quiet again after ${ms(peer.settledAfterMs)} ms.`,
      '',
      table(
        ['ratio fota / mosquitto', 'value'],
        [
          ['fan-out p50', ratioOf(fota.all.p50, peer.all.p50)],
          ['fan-out p99', ratioOf(fota.all.p99, peer.all.p99)],
          ['fan-out max', ratioOf(fota.all.max, peer.all.max)],
          [
            'server CPU per message (until quiet)',
            ratioOf(fota.serverCpuSettledSeconds / fota.all.count, peer.serverCpuSettledSeconds / peer.all.count),
          ],
          ['server CPU per connection (connecting, both)', ratioOf(cpuPer(connect), cpuPer(anchor.connect))],
          ['server CPU per connection (connecting, TCP)', ratioOf(cpuPer(fleetConnect.tcp), cpuPer(anchor.connect))],
          ['server CPU per connection (connecting, MQTT)', ratioOf(cpuPer(fleetConnect.mqtt), cpuPer(anchor.connect))],
          ['RSS per connection (TCP)', ratioOf(rssPer(fleetConnect.tcp), rssPer(anchor.connect))],
          ['RSS per connection (MQTT)', ratioOf(rssPer(fleetConnect.mqtt), rssPer(anchor.connect))],
        ],
      ),
    );
  }
  return {
    title: 'Part 1: fan-out of one push to every device',
    text: lines.join('\n'),
    figures: {
      devices: fleet.devices.length,
      tcpDevices: tcp,
      createSeconds: fleet.createSeconds,
      reportSeconds: fleet.reportSeconds,
      connect: fleetConnect,
      fota,
      anchor: anchor && { connect: anchor.connect, fanout: anchor.fanout },
    },
  };
}

function stormRow(name: string, storm: StormFigures): string[] {
  return [
    name,
    count(storm.devices),
    count(storm.errors),
    fixed(storm.lastAckMs / 1000, 2),
    storm.allOnlineMs === undefined ? '–' : `${fixed(storm.allOnlineMs / 1000, 2)} (${storm.apiPolls} polls)`,
    fixed(storm.serverCpuSeconds, 2),
    perUnit(storm.serverCpuSeconds, storm.devices, 1e3, 3),
    fixed(storm.clientCpuSeconds, 2),
    `${count(storm.fdsBefore)} → ${count(storm.fdsAfter)}`,
  ];
}

/** Part 3: every device drops and reconnects at once. */
export function stormReport(
  fota: StormFigures,
  fleetConnect: FleetConnect,
  anchor: StormFigures | undefined,
): PartReport {
  const connect = bothPhases(fleetConnect);
  const rows = [stormRow('fota', fota)];
  if (anchor) rows.push(stormRow('mosquitto', anchor));
  const lines = [
    table(
      [
        'storm',
        'devices',
        'errors',
        'last client ack s',
        'API shows all online s',
        'server CPU s',
        'server CPU ms per reconnect',
        'client CPU s',
        'server open files',
      ],
      rows,
    ),
    '',
    `Kernel counters from the drop until the last client was back (whole machine): fota ${counters(fota.kernel)}${anchor ? `; mosquitto ${counters(anchor.kernel)}` : ''}.`,
    '',
    `Errors: ${fota.errors}${fota.firstError ? ` (first: ${fota.firstError})` : ''}; connections that had dropped by themselves before the storm: ${fota.droppedBefore}.` +
      (anchor
        ? ` mosquitto errors: ${anchor.errors}${anchor.firstError ? ` (first: ${anchor.firstError})` : ''}.`
        : ''),
    '',
    table(
      ['ratio', 'value'],
      [
        ['fota storm, last ack / mosquitto storm, last ack', anchor ? ratioOf(fota.lastAckMs, anchor.lastAckMs) : '–'],
        [
          'fota storm, server CPU per reconnect / fota first connect, per connection',
          ratioOf(fota.serverCpuSeconds / fota.devices, connect.serverCpuSeconds / connect.connections),
        ],
        [
          'fota storm, API shows all online / first connect of the same devices (wall)',
          fota.allOnlineMs === undefined ? '–' : ratioOf(fota.allOnlineMs / 1000, connect.seconds),
        ],
      ],
    ),
  ];
  return {
    title: 'Part 3: reconnect storm',
    text: lines.join('\n'),
    figures: { fota, anchor },
  };
}

/** Part 2: connections one fota process holds, and what their heartbeats cost. */
export function limitReport(limit: LimitFigures): PartReport {
  const { ramp, heartbeats } = limit;
  const fdLimit = limit.serverFdLimit ?? 0;
  const perSecond = heartbeats.sent / heartbeats.windowS;
  const cpuMsPerSecond = (heartbeats.serverCpuSeconds * 1000) / heartbeats.windowS;
  const lines = [
    `${count(limit.target)} TCP devices created through the management API in ${fixed(limit.createSeconds, 1)} s ` +
      `(${perUnit(limit.createSeconds, limit.target, 1e3, 2)} ms each), connected from ${limit.sourceAddresses.join(', ')} until the target or the first failure.`,
    '',
    table(
      ['connections', 'value', 'limit', 'value / limit'],
      [
        [
          'reached (heartbeat echoed)',
          count(ramp.connections),
          `${count(limit.target)} (target)`,
          ratioOf(ramp.connections, limit.target),
        ],
        [
          'server open files',
          count(ramp.fdsAfter),
          `${count(fdLimit)} (its RLIMIT_NOFILE)`,
          ratioOf(ramp.fdsAfter, fdLimit),
        ],
        ['failed attempts', count(ramp.failed), '0', ''],
        ['ramp wall time', `${fixed(ramp.seconds, 1)} s`, '', ''],
        ['server CPU per connection', `${perUnit(ramp.serverCpuSeconds, ramp.connections, 1e3, 3)} ms`, '', ''],
        ['server RSS before → connected', `${mib(ramp.rssBefore)} → ${mib(ramp.rssAfter)}`, '', ''],
        ['server RSS per connection', kib((ramp.rssAfter - ramp.rssBefore) / Math.max(1, ramp.connections)), '', ''],
        ['client CPU during the ramp', `${fixed(ramp.clientCpuSeconds, 2)} s`, '', ''],
      ],
    ),
    '',
    `With every connection held, \`GET /api/v1/prototypes/:pid\` ${limit.apiCheck}. ` +
      `Kernel counters during the ramp (whole machine): ${counters(ramp.kernel)}.` +
      (ramp.firstError ? ` First failure: ${ramp.firstError}.` : ''),
    ...(limit.serverTail ? ['', "The server's last output:", '', '```', limit.serverTail, '```'] : []),
    '',
    `Heartbeats: every device sends \`ID,KEY,0\` every ${heartbeats.periodS} s, spread evenly; the server echoes each. Window of ${fixed(heartbeats.windowS, 1)} s after one whole period.`,
    '',
    table(
      ['heartbeats', 'value', 'peer or limit', 'ratio'],
      [
        [
          'heartbeats/s sent',
          fixed(perSecond, 0),
          `${fixed(ramp.connections / heartbeats.periodS, 0)} (connections / period)`,
          ratioOf(perSecond, ramp.connections / heartbeats.periodS),
        ],
        [
          'echoes received / heartbeats sent',
          `${count(heartbeats.echoes)} / ${count(heartbeats.sent)}`,
          '1',
          ratioOf(heartbeats.echoes, heartbeats.sent),
        ],
        ['server CPU ms/s', fixed(cpuMsPerSecond, 1), '1000 (one core)', ratioOf(cpuMsPerSecond, 1000)],
        ['server CPU µs per heartbeat', perUnit(heartbeats.serverCpuSeconds, heartbeats.sent, 1e6, 1), '', ''],
        [
          'heartbeats/s one core could take',
          heartbeats.serverCpuSeconds > 0 ? fixed(heartbeats.sent / heartbeats.serverCpuSeconds, 0) : '–',
          '',
          '',
        ],
        [
          'client CPU ms/s (swarms + bench)',
          fixed((heartbeats.clientCpuSeconds * 1000) / heartbeats.windowS, 1),
          '',
          '',
        ],
        ['connections dropped', count(heartbeats.dropped), '0', heartbeats.firstDrop ?? ''],
      ],
    ),
  ];
  return {
    title: 'Part 2: connections one fota process holds',
    text: lines.join('\n'),
    figures: { ...limit },
  };
}

/** The targets of the issue "Push at fleet scale", each with its peer in the same run. */
export function issueReport(
  fleetConnect: FleetConnect,
  fota: FotaFanout | undefined,
  anchor: AnchorFigures | undefined,
  storm: StormFigures | undefined,
): PartReport {
  const connect = bothPhases(fleetConnect);
  const peer = anchor?.fanout;
  const rows: string[][] = [];
  const verdict = (ok: boolean | undefined): string => (ok === undefined ? '–' : ok ? 'met' : 'not met');
  const valueRatio = (a: number, b: number) => (b > 0 ? a / b : NaN);
  if (fota) {
    const p99 = valueRatio(fota.all.p99, peer?.all.p99 ?? NaN);
    rows.push([
      `${count(fota.devices)}-device push, half TCP half MQTT: p99 time to the device`,
      `${ms(fota.all.p99)} ms`,
      peer ? `${ms(peer.all.p99)} ms` : '–',
      ratioOf(fota.all.p99, peer?.all.p99 ?? NaN),
      '≤ 1.5×',
      verdict(Number.isFinite(p99) ? p99 <= 1.5 : undefined),
    ]);
    const fotaCpu = (fota.serverCpuSettledSeconds - fota.probeCpuSeconds) / fota.all.count;
    const peerCpu = peer ? (peer.serverCpuSettledSeconds - peer.probeCpuSeconds) / peer.all.count : NaN;
    rows.push([
      "server CPU per pushed device (until quiet, less the probe's cost)",
      `${fixed(fotaCpu * 1e6, 0)} µs`,
      peer ? `${fixed(peerCpu * 1e6, 0)} µs` : '–',
      ratioOf(fotaCpu, peerCpu),
      '≤ 3×',
      verdict(Number.isFinite(peerCpu) ? fotaCpu / peerCpu <= 3 : undefined),
    ]);
    const block = longestBlock(fota.probe);
    const peerBlock = longestBlock(peer?.probe);
    rows.push([
      'longest event-loop block during the push (longest probe answer)',
      `${fixed(block.ms, 1)} ms (${block.kind})`,
      peer ? `${fixed(peerBlock.ms, 1)} ms (${peerBlock.kind})` : '–',
      ratioOf(block.ms, peerBlock.ms),
      '< 50 ms',
      verdict(Number.isFinite(block.ms) ? block.ms < 50 : undefined),
    ]);
    rows.push([
      `POST …/push answer for ${count(fota.devices)} targets`,
      `${ms(fota.answerMs)} ms`,
      '–',
      '',
      '≤ 200 ms',
      verdict(fota.answerMs <= 200),
    ]);
    for (const [kind, figures] of Object.entries(fota.probe?.kinds ?? {})) {
      rows.push([
        `${PROBE_NAMES[kind as ProbeKind]} during the push: p99 / max (before the push)`,
        `${fixed(figures.push.p99, 1)} / ${fixed(figures.push.max, 1)} ms (${fixed(figures.idle.p99, 1)} / ${fixed(figures.idle.max, 1)})`,
        kind === 'mqtt' && peer?.probe?.kinds.mqtt
          ? `${fixed(peer.probe.kinds.mqtt.push.p99, 1)} / ${fixed(peer.probe.kinds.mqtt.push.max, 1)} ms`
          : '–',
        kind === 'mqtt' && peer?.probe?.kinds.mqtt ? ratioOf(figures.push.p99, peer.probe.kinds.mqtt.push.p99) : '',
        'keeps being answered',
        verdict(figures.push.count > 0 && figures.unansweredMs === undefined),
      ]);
    }
  }
  const mosquittoRss = anchor ? rssPer(anchor.connect) : NaN;
  for (const [protocol, figures, limit] of [
    ['TCP', fleetConnect.tcp, 4],
    ['MQTT', fleetConnect.mqtt, 8],
  ] as const) {
    rows.push([
      `RSS per connected device, ${protocol}`,
      kib(rssPer(figures)),
      anchor ? kib(mosquittoRss) : '–',
      ratioOf(rssPer(figures), mosquittoRss),
      `≤ ${limit} KiB`,
      verdict(rssPer(figures) <= limit * 1024),
    ]);
  }
  const peerConnect = anchor ? cpuPer(anchor.connect) : NaN;
  rows.push([
    'connect CPU per device (TCP and MQTT together)',
    `${fixed(cpuPer(connect) * 1e3, 3)} ms`,
    anchor ? `${fixed(peerConnect * 1e3, 3)} ms` : '–',
    ratioOf(cpuPer(connect), peerConnect),
    '≤ 5×',
    verdict(anchor ? cpuPer(connect) / peerConnect <= 5 : undefined),
  ]);
  if (storm) {
    const peerStorm = anchor?.storm;
    rows.push([
      `reconnect storm of ${count(storm.devices)}, last device back`,
      `${fixed(storm.lastAckMs / 1000, 2)} s`,
      peerStorm ? `${fixed(peerStorm.lastAckMs / 1000, 2)} s` : '–',
      ratioOf(storm.lastAckMs, peerStorm?.lastAckMs ?? NaN),
      '≤ 1.0×',
      verdict(peerStorm ? storm.lastAckMs / peerStorm.lastAckMs <= 1 : undefined),
    ]);
  }
  return {
    title: 'Targets of the issue "Push at fleet scale" (fota, its peer mosquitto in the same run, the ratio)',
    text: table(['row', 'fota', 'mosquitto', 'ratio', 'target', ''], rows),
    figures: {},
  };
}
