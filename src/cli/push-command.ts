import { SingleBar } from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { canMove, isTerminal, pushStatuses, type PushStatus } from '../domain/push.js';
import type { DeviceBody, FirmwareBody, PushBody } from '../http/management/schemas.js';
import { ApiClient, type ApiAnswer } from './api-client.js';
import { CliError } from './cli-error.js';
import { show, withApiOptions, type ApiOptions } from './command-options.js';
import { eventStreamOf, openEventStream, type EventStream, type EventStreamTarget } from './event-stream.js';
import { print, printable, table } from './output.js';

interface PushOptions extends ApiOptions {
  readonly allOnline?: boolean;
  readonly queueOffline?: boolean;
  readonly force?: boolean;
  readonly wait?: boolean;
  /** Seconds `--wait` waits at most. */
  readonly timeout: number;
}

const DEFAULT_TIMEOUT_S = 600;
/** setTimeout cannot wait longer than 2^31 - 1 ms (about 24.8 days). */
const MAX_TIMEOUT_S = 2_000_000;

/** `fota push <fwId> [deviceId...]`. */
export function registerPushCommand(program: Command): void {
  withApiOptions(
    program
      .command('push')
      .description('push a firmware to devices; with --wait, follow them until they upgrade or fail')
      .argument('<fwId>', 'the firmware to push')
      .argument('[deviceIds...]', "deviceIds of the firmware's prototype to push it to")
      .option('--all-online', "also push to every device of the firmware's prototype that is online now")
      .option('--queue-offline', 'send to offline devices once they next connect, instead of answering them offline')
      .option('--force', 'send even to devices whose firmware is not a prerequisite of this one')
      .option('--wait', 'follow the push until every device upgraded or failed; exit 1 unless all upgraded')
      .addOption(
        new Option('--timeout <seconds>', 'with --wait: how long to wait at most, then exit 1')
          .argParser(timeoutSeconds)
          .default(DEFAULT_TIMEOUT_S),
      ),
  )
    .addHelpText(
      'after',
      `
Only devices connected now (over TCP or MQTT) get the firmware: they start "sent", then move
through delivered and downloading to "upgraded" once they report the new version, or to "failed"
(another version reported, or nothing in time). A device that is not connected is answered
"offline" (or "queued" with --queue-offline), and one whose firmware is not a prerequisite of this
one "incompatible" (unless --force).

With --wait, fota follows the push live until every device is upgraded, failed, offline or
incompatible. It exits 0 only when every device upgraded, and 1 naming the others, or when
--timeout passes first: a build pipeline can gate on it. A progress bar is drawn on stderr when
stderr is a terminal; otherwise each status change is one line on stderr. With --json, stdout
gets the push as JSON: as created, or with --wait as it ended.

Examples:
  $ fota push FKgaAQDiAk3h D1UoYvqt D7rTq2Lm
  $ fota push FKgaAQDiAk3h --all-online --wait
  $ fota push FKgaAQDiAk3h D1UoYvqt --queue-offline --wait --timeout 3600 --json \\
      | jq -r '.targets[] | .deviceId + " " + .status'`,
    )
    .action(async (fwId: string, named: string[], options: PushOptions) => {
      const client = ApiClient.connect(options);
      const deviceIds = await chooseDevices(client, fwId, named, options.allOnline === true);
      const created = await client.post<PushBody>(`/firmwares/${encodeURIComponent(fwId)}/push`, {
        deviceIds,
        force: options.force === true,
        queueOffline: options.queueOffline === true,
      });
      if (!options.wait) {
        show(options, created, (push) => describePush(`Push ${push.pushId}`, push));
        return;
      }
      if (!options.json) print(describePush(`Push ${created.body.pushId}`, created.body));
      await waitForPush(client, options, created);
    });
}

/** The named devices and, with --all-online, those of the firmware's prototype online now. */
async function chooseDevices(client: ApiClient, fwId: string, named: string[], allOnline: boolean): Promise<string[]> {
  const chosen = [...new Set(named)];
  if (!allOnline) {
    if (chosen.length === 0) {
      throw new CliError(
        `name the devices to push ${fwId} to (fota push ${fwId} <deviceId...>), or pass --all-online for every device of its prototype that is online now`,
      );
    }
    return chosen;
  }
  const firmware = (await client.get<FirmwareBody>(`/firmwares/${encodeURIComponent(fwId)}`)).body;
  const devices = (await client.get<DeviceBody[]>(`/prototypes/${encodeURIComponent(firmware.prototypeId)}/devices`))
    .body;
  const online = devices.filter((device) => device.presence.online).map((device) => device.deviceId);
  if (online.length === 0 && chosen.length === 0) {
    throw new CliError(
      `no device of prototype ${firmware.prototypeId} is online now: nothing to push ${fwId} (version ${firmware.version}) to. Devices appear online while connected over TCP or MQTT`,
    );
  }
  return [...new Set([...chosen, ...online])];
}

/** Follows a push to its end, prints it, and fails unless every device upgraded. */
async function waitForPush(client: ApiClient, options: PushOptions, created: ApiAnswer<PushBody>): Promise<void> {
  const display = progressDisplay(created.body, options.timeout);
  const watch = new PushWatch(client, eventStreamOf(options), created, display);
  let done: boolean;
  try {
    done = await watch.run(options.timeout * 1000);
  } finally {
    display.stop();
  }
  const final = await watch.final();
  const push = final.body;
  const pending = push.targets.filter((target) => !isTerminal(target.status));
  const missed = push.targets.filter((target) => target.status !== 'upgraded');
  const names = (targets: PushBody['targets']) =>
    targets.map((target) =>
      printable(`${target.deviceId} ${target.status}${target.reason ? ` (${target.reason})` : ''}`),
    );

  if (!done && pending.length > 0) {
    print(options.json ? `${final.text}\n` : describePush(`Push ${push.pushId} after ${options.timeout} s`, push));
    const problem = watch.problem ? `; last problem: ${watch.problem}` : '';
    throw new CliError(
      `push ${push.pushId} timed out after ${options.timeout} s with ${someOf(pending.length, push.targets.length)} still pending: ${names(pending).join(', ')}${problem}`,
    );
  }
  print(options.json ? `${final.text}\n` : describePush(`Push ${push.pushId} finished`, push));
  if (missed.length > 0) {
    throw new CliError(
      `${someOf(missed.length, push.targets.length)} did not upgrade to ${push.version}: ${names(missed).join(', ')}`,
    );
  }
  if (!options.json) {
    print(
      `${push.targets.length === 1 ? 'The device' : `All ${push.targets.length} devices`} upgraded to ${push.version}.\n`,
    );
  }
}

/* ------------------------------------------------------------------------------------------------
 * Readable output
 */

/** `2 of 3 devices`, or `the device` when the push has only one. */
const someOf = (part: number, total: number): string => (total === 1 ? 'the device' : `${part} of ${total} devices`);

function describePush(heading: string, push: PushBody): string {
  const devices = push.targets.length === 1 ? '1 device' : `${push.targets.length} devices`;
  const lines = [
    `${heading}: firmware ${push.fwId} version ${push.version} to ${devices}\n`,
    table(
      ['DEVICE ID', 'STATUS', 'REASON'],
      push.targets.map((target) => [target.deviceId, target.status, target.reason ?? '-']),
    ),
    `Counts: ${countsText(push.counts)}\n`,
  ];
  if ((push.counts['offline'] ?? 0) > 0 && !push.queueOffline) {
    lines.push('Offline devices got nothing; --queue-offline sends to them once they next connect.\n');
  }
  return lines.join('');
}

/** `sent 1, offline 1`: the statuses some target has, in the order of a push's life. */
const countsText = (counts: Readonly<Record<string, number>>): string =>
  pushStatuses
    .filter((status) => (counts[status] ?? 0) > 0)
    .map((status) => `${status} ${counts[status]}`)
    .join(', ') || 'none';

const countsOf = (targets: ReadonlyArray<{ readonly status: PushStatus }>): Record<string, number> => {
  const counts: Record<string, number> = Object.fromEntries(pushStatuses.map((status) => [status, 0]));
  for (const target of targets) counts[target.status] = (counts[target.status] ?? 0) + 1;
  return counts;
};

const finishedOf = (counts: Readonly<Record<string, number>>): number =>
  pushStatuses.filter(isTerminal).reduce((sum, status) => sum + (counts[status] ?? 0), 0);

/** What `--wait` shows while it follows a push. */
interface ProgressDisplay {
  change(deviceId: string, status: PushStatus, reason: string | null, counts: Record<string, number>): void;
  /** The event stream opened (`problem` undefined) or broke. */
  stream(problem: string | undefined): void;
  stop(): void;
}

/**
 * A bar of finished devices with the counts per status on a terminal; otherwise (logs, pipelines)
 * one line per status change and per change of the event stream. Both on stderr, so that stdout
 * keeps the result.
 */
function progressDisplay(push: PushBody, timeoutS: number): ProgressDisplay {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({
      stream: process.stderr,
      format: `Push ${push.pushId} [{bar}] {value}/{total} finished | {counts}`,
      hideCursor: true,
    });
    bar.start(push.targets.length, finishedOf(push.counts), { counts: countsText(push.counts) });
    return {
      change: (_deviceId, _status, _reason, counts) => bar.update(finishedOf(counts), { counts: countsText(counts) }),
      stream: () => {},
      stop: () => bar.stop(),
    };
  }
  const line = (text: string) => process.stderr.write(`${printable(text).trimEnd()}\n`);
  const pending = push.targets.length - finishedOf(push.counts);
  if (pending > 0)
    line(`Waiting up to ${timeoutS} s for ${someOf(pending, push.targets.length)} of push ${push.pushId}`);
  let opened = false;
  let broken = false;
  return {
    change: (deviceId, status, reason) => line(`${deviceId}  ${status.padEnd(12)}  ${reason ?? ''}`),
    stream: (problem) => {
      if (problem === undefined) {
        if (!opened || broken) line(`Following push ${push.pushId} live${opened ? ' again' : ''}`);
        opened = true;
      } else if (!broken) {
        line(`The event stream broke (${problem}); reconnecting`);
      }
      broken = problem !== undefined;
    },
    stop: () => {},
  };
}

/* ------------------------------------------------------------------------------------------------
 * Following a push
 */

interface Tracked {
  readonly status: PushStatus;
  readonly reason: string | null;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5_000;
const FINAL_READ_MS = 10_000;

/**
 * The statuses of a push's targets, kept current from the `push.progress` events of the SSE
 * stream, and re-read from `GET /pushes/:id` each time the stream opens and each time it breaks, so
 * that no change is missed. A status only moves forward along the push state machine: a re-read
 * older than an event already seen changes nothing.
 */
class PushWatch {
  private readonly targets = new Map<string, Tracked>();
  private latest: ApiAnswer<PushBody>;
  private over = false;
  /** The last reason the stream or a re-read failed, for the timeout message. */
  problem: string | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly stream: EventStreamTarget,
    created: ApiAnswer<PushBody>,
    private readonly display: ProgressDisplay,
  ) {
    this.latest = created;
    for (const target of created.body.targets) {
      this.targets.set(target.deviceId, { status: target.status, reason: target.reason });
    }
  }

  private get path(): string {
    return `/pushes/${encodeURIComponent(this.latest.body.pushId)}`;
  }

  private settled(): boolean {
    return [...this.targets.values()].every((target) => isTerminal(target.status));
  }

  /** Follows the push until every target is terminal (true) or `ms` passed (false). */
  run(ms: number): Promise<boolean> {
    if (this.settled()) return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      let connection: EventStream | undefined;
      let retry: NodeJS.Timeout | undefined;
      let delay = RETRY_MIN_MS;
      const end = (outcome: boolean | CliError) => {
        if (this.over) return;
        this.over = true;
        clearTimeout(timer);
        clearTimeout(retry);
        connection?.stop();
        if (typeof outcome === 'boolean') resolve(outcome);
        else reject(outcome);
      };
      const timer = setTimeout(() => end(false), ms);
      const check = () => {
        if (this.settled()) end(true);
      };
      const reread = async () => {
        try {
          const answer = await this.client.get<PushBody>(this.path);
          if (this.over) return;
          this.latest = answer;
          for (const target of answer.body.targets) this.move(target.deviceId, target.status, target.reason);
          check();
        } catch (error) {
          this.problem = (error as { cliMessage?: string; message?: string }).cliMessage ?? String(error);
        }
      };
      const connect = () => {
        if (this.over) return;
        connection = openEventStream(this.stream, {
          open: () => {
            delay = RETRY_MIN_MS;
            this.problem = undefined;
            this.display.stream(undefined);
            void reread();
          },
          event: (name, data) => {
            if (name !== 'push.progress') return;
            const progress = parseProgress(data);
            if (progress?.pushId !== this.latest.body.pushId) return;
            this.move(progress.deviceId, progress.status, progress.reason);
            check();
          },
          close: (problem) => {
            if (this.over) return;
            if (problem.fatal) {
              end(new CliError(problem.message));
              return;
            }
            this.problem = problem.message;
            this.display.stream(problem.message);
            void reread();
            retry = setTimeout(connect, delay);
            delay = Math.min(delay * 2, RETRY_MAX_MS);
          },
        });
      };
      connect();
    });
  }

  /**
   * The push as it ended: re-read once more when the server answers in a few seconds (a timed-out
   * wait must not hang on a server that stopped answering), else as followed.
   */
  async final(): Promise<{ readonly body: PushBody; readonly text: string }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), FINAL_READ_MS)));
    const answer = await Promise.race([this.client.get<PushBody>(this.path).catch(() => undefined), late]);
    clearTimeout(timer);
    // A re-read is the truth unless an event already told of a later status.
    const current = answer?.body.targets.every((target) => {
      const tracked = this.targets.get(target.deviceId);
      return tracked !== undefined && (tracked.status === target.status || reaches(tracked.status, target.status));
    });
    if (answer && current) return answer;
    const targets = this.latest.body.targets.map((target) => {
      const tracked = this.targets.get(target.deviceId);
      return tracked && tracked.status !== target.status ? { ...target, ...tracked } : target;
    });
    const body: PushBody = { ...this.latest.body, counts: countsOf(targets), targets };
    return { body, text: JSON.stringify(body) };
  }

  /** Records a target's status when it is further along than the one known. */
  private move(deviceId: string, status: PushStatus, reason: string | null): void {
    const known = this.targets.get(deviceId);
    if (this.over || !known || !reaches(known.status, status)) return;
    this.targets.set(deviceId, { status, reason });
    this.display.change(deviceId, status, reason, countsOf([...this.targets.values()]));
  }
}

/** True when a target in `from` can end up in `to` through one or more moves. */
function reaches(from: PushStatus, to: PushStatus): boolean {
  const seen = new Set<PushStatus>([from]);
  const next: PushStatus[] = [from];
  for (let status = next.pop(); status !== undefined; status = next.pop()) {
    for (const candidate of pushStatuses) {
      if (!seen.has(candidate) && canMove(status, candidate)) {
        if (candidate === to) return true;
        seen.add(candidate);
        next.push(candidate);
      }
    }
  }
  return false;
}

interface Progress {
  readonly pushId: string;
  readonly deviceId: string;
  readonly status: PushStatus;
  readonly reason: string | null;
}

/** The data of a `push.progress` event, or undefined when it is not one. */
function parseProgress(data: string): Progress | undefined {
  let value: { pushId?: unknown; deviceId?: unknown; status?: unknown; reason?: unknown };
  try {
    value = JSON.parse(data) as typeof value;
  } catch {
    return undefined;
  }
  const { pushId, deviceId, status, reason } = value ?? {};
  if (typeof pushId !== 'string' || typeof deviceId !== 'string') return undefined;
  if (!pushStatuses.includes(status as PushStatus)) return undefined;
  return { pushId, deviceId, status: status as PushStatus, reason: typeof reason === 'string' ? reason : null };
}

function timeoutSeconds(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_TIMEOUT_S) {
    throw new InvalidArgumentError(`a number of seconds above 0 and at most ${MAX_TIMEOUT_S}.`);
  }
  return seconds;
}
