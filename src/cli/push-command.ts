import { SingleBar } from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  activePushStatuses,
  countIn,
  pushStatuses,
  type HttpClient,
  type PushStatus,
} from '../contract/http-client.js';
import type { PushBody, PushTargetBody } from '../contract/schemas.js';
import { cliErrorOf, connect } from './api-connection.js';
import { CliError } from './cli-error.js';
import { jsonText, show, withApiOptions, type ApiOptions } from './command-options.js';
import { openEventStream, type EventStream } from './event-stream.js';
import { countsText, print, printable, statusText, table } from './output.js';

interface PushOptions extends ApiOptions {
  readonly allOnline?: boolean;
  readonly all?: boolean;
  readonly queueOffline?: boolean;
  readonly force?: boolean;
  readonly wait?: boolean;
  /** Seconds `--wait` waits at most. */
  readonly timeout: number;
}

const DEFAULT_TIMEOUT_S = 600;
/** setTimeout cannot wait longer than 2^31 - 1 ms (about 24.8 days). */
const MAX_TIMEOUT_S = 2_000_000;
/** A push of at most this many devices is shown device by device. */
const LISTED_DEVICES = 50;
/** Devices named in a failure message, at most. */
const NAMED_DEVICES = 20;

/** `fota push <fwId> [deviceId...]`. */
export function registerPushCommand(program: Command): void {
  withApiOptions(
    program
      .command('push')
      .description('push a firmware to devices; with --wait, follow them until they upgrade or fail')
      .argument('<fwId>', 'the firmware to push')
      .argument('[deviceIds...]', "deviceIds of the firmware's prototype to push it to (at most 10,000)")
      .option('--all-online', "push to every device of the firmware's prototype that is online now")
      .option('--all', "push to every device of the firmware's prototype (offline ones: see --queue-offline)")
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
(another version reported, or no progress within that status's timeout). A device that is not
connected is answered "offline" (or "queued" with --queue-offline), and one whose firmware is not a
prerequisite of this one "incompatible" (unless --force). Name the devices, or select them with
--all-online or --all (no cap on the count, for large fleets).

With --wait, fota follows the push live until every device is upgraded, failed, offline or
incompatible. It exits 0 only when every device upgraded, and 1 naming the others, or when
--timeout passes first: a build pipeline can gate on it. A progress bar is drawn on stderr when
stderr is a terminal; otherwise each status change is one line on stderr. With --json, stdout
gets the push summary as JSON: as created, or with --wait as it ended. The devices of a push are
listed by \`fota pushes targets <pushId>\` or GET /api/v1/pushes/<pushId>/targets.

Examples:
  $ fota push FKgaAQDiAk3h D1UoYvqt D7rTq2Lm
  $ fota push FKgaAQDiAk3h --all-online --wait
  $ fota push FKgaAQDiAk3h --all --queue-offline
  $ fota push FKgaAQDiAk3h D1UoYvqt --queue-offline --wait --timeout 3600 --json | jq .counts`,
    )
    .action(async (fwId: string, named: string[], options: PushOptions) => {
      const client = connect(options);
      const created = await client.push(fwId, {
        ...chooseDevices(fwId, named, options),
        force: options.force === true,
        queueOffline: options.queueOffline === true,
      });
      if (!options.wait) {
        if (options.json) show(options, created, () => '');
        else print(await describePush(client, `Push ${created.pushId}`, created));
        return;
      }
      if (!options.json) print(await describePush(client, `Push ${created.pushId}`, created));
      await waitForPush(client, options, created);
    });
}

/** The request's devices: the named ids, or a selection. */
function chooseDevices(
  fwId: string,
  named: string[],
  options: PushOptions,
): { deviceIds: string[] } | { selection: 'all' | 'online' } {
  const selections = [options.allOnline && '--all-online', options.all && '--all'].filter(Boolean);
  if (selections.length > 0 && named.length > 0) {
    throw new CliError(`name the devices or pass ${selections[0]}, not both`);
  }
  if (selections.length > 1) throw new CliError('pass --all-online or --all, not both');
  if (options.allOnline) return { selection: 'online' };
  if (options.all) return { selection: 'all' };
  if (named.length === 0) {
    throw new CliError(
      `name the devices to push ${fwId} to (fota push ${fwId} <deviceId...>), or pass --all-online or --all for the devices of its prototype`,
    );
  }
  return { deviceIds: [...new Set(named)] };
}

/**
 * Follows a push to its end, prints it, and fails unless every device upgraded. Whether it ended,
 * and how many devices are where, is what the server answers: its status and counts.
 */
async function waitForPush(client: HttpClient, options: PushOptions, created: PushBody): Promise<void> {
  const display = progressDisplay(created, options.timeout);
  const watch = new PushWatch(client, created, display);
  let done: boolean;
  try {
    done = await watch.run(options.timeout * 1000);
  } finally {
    display.stop();
  }
  const push = await watch.final();

  if (!done && push.status !== 'finished') {
    print(
      options.json
        ? `${jsonText(push)}\n`
        : await describePush(client, `Push ${push.pushId} after ${options.timeout} s`, push),
    );
    const problem = watch.problem ? `; last problem: ${watch.problem}` : '';
    const pending = countIn(push.counts, activePushStatuses);
    const names = await namedTargets(client, push, activePushStatuses);
    throw new CliError(
      `push ${push.pushId} timed out after ${options.timeout} s with ${someOf(pending, push.total)} still pending: ${names}${problem}`,
    );
  }
  print(options.json ? `${jsonText(push)}\n` : await describePush(client, `Push ${push.pushId} finished`, push));
  const missedStatuses = pushStatuses.filter((status) => status !== 'upgraded');
  const missed = countIn(push.counts, missedStatuses);
  if (missed > 0) {
    const names = await namedTargets(client, push, missedStatuses);
    throw new CliError(`${someOf(missed, push.total)} did not upgrade to ${push.version}: ${names}`);
  }
  if (!options.json) {
    print(`${push.total === 1 ? 'The device' : `All ${push.total} devices`} upgraded to ${push.version}.\n`);
  }
}

/* ------------------------------------------------------------------------------------------------
 * Readable output
 */

/** `2 of 3 devices`, or `the device` when the push has only one. */
const someOf = (part: number, total: number): string => (total === 1 ? 'the device' : `${part} of ${total} devices`);

/** Reads the push's targets of these statuses, page by page, up to `limit`. */
async function targetsOf(
  client: HttpClient,
  pushId: string,
  statuses: readonly PushStatus[],
  limit: number,
): Promise<PushTargetBody[]> {
  const found: PushTargetBody[] = [];
  for (const status of statuses) {
    let cursor: string | null = null;
    do {
      const page = await client.pushTargets(pushId, {
        status,
        limit: Math.min(500, limit),
        ...(cursor ? { cursor } : {}),
      });
      found.push(...page.targets);
      cursor = page.nextCursor;
    } while (cursor !== null && found.length < limit);
    if (found.length >= limit) break;
  }
  return found.slice(0, limit);
}

/** `D1 failed (reason), D2 offline (…)`, at most NAMED_DEVICES of them and how many more. */
async function namedTargets(client: HttpClient, push: PushBody, statuses: readonly PushStatus[]): Promise<string> {
  const targets = await targetsOf(client, push.pushId, statuses, NAMED_DEVICES);
  const count = countIn(push.counts, statuses);
  const names = targets.map((target) =>
    printable(`${target.deviceId} ${target.status}${target.reason ? ` (${target.reason})` : ''}`),
  );
  return `${names.join(', ')}${count > names.length ? ` and ${count - names.length} more` : ''}`;
}

async function describePush(client: HttpClient, heading: string, push: PushBody): Promise<string> {
  const devices = push.total === 1 ? '1 device' : `${push.total} devices`;
  const lines = [
    `${heading}: firmware ${push.fwId} version ${push.version} to ${devices}, ${statusText(push.status)}\n`,
  ];
  if (push.total <= LISTED_DEVICES) {
    const targets = await targetsOf(client, push.pushId, pushStatuses, LISTED_DEVICES);
    targets.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    lines.push(
      table(
        ['DEVICE ID', 'STATUS', 'REASON'],
        targets.map((target) => [target.deviceId, target.status, target.reason ?? '-']),
      ),
    );
  }
  lines.push(`Counts: ${countsText(push.counts)}\n`);
  if ((push.counts['offline'] ?? 0) > 0 && !push.queueOffline) {
    lines.push('Offline devices got nothing; --queue-offline sends to them once they next connect.\n');
  }
  return lines.join('');
}

/** Devices of the push that are finished (in no active status), from the counts the server answered. */
const finishedCount = (push: PushBody): number => push.total - countIn(push.counts, activePushStatuses);

/** What `--wait` shows while it follows a push. */
interface ProgressDisplay {
  change(deviceId: string, status: PushStatus, reason: string | null): void;
  counts(push: PushBody): void;
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
    bar.start(push.total, finishedCount(push), { counts: countsText(push.counts) });
    return {
      change: () => {},
      counts: (now) => bar.update(finishedCount(now), { counts: countsText(now.counts) }),
      stream: () => {},
      stop: () => bar.stop(),
    };
  }
  const line = (text: string) => process.stderr.write(`${printable(text).trimEnd()}\n`);
  const pending = countIn(push.counts, activePushStatuses);
  if (pending > 0) line(`Waiting up to ${timeoutS} s for ${someOf(pending, push.total)} of push ${push.pushId}`);
  let opened = false;
  let broken = false;
  return {
    change: (deviceId, status, reason) => line(`${deviceId}  ${status.padEnd(12)}  ${reason ?? ''}`),
    counts: () => {},
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

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5_000;
const FINAL_READ_MS = 10_000;
/** Events of the push re-read its summary at most this often. */
const REREAD_MS = 250;
/** With no event at all, the summary is re-read this often anyway. */
const IDLE_REREAD_MS = 5_000;

/**
 * A push followed to its end. The truth is its summary (`GET /pushes/:id`: derived status and
 * counts), re-read when the event stream opens or breaks, shortly after `push.progress` events of
 * the push, and every few seconds regardless, so that no change is missed; the events themselves
 * only feed the display.
 */
class PushWatch {
  private latest: PushBody;
  private over = false;
  /** The last reason the stream or a re-read failed, for the timeout message. */
  problem: string | undefined;

  constructor(
    private readonly client: HttpClient,
    created: PushBody,
    private readonly display: ProgressDisplay,
  ) {
    this.latest = created;
  }

  /** Follows the push until it is finished (true) or `ms` passed (false). */
  run(ms: number): Promise<boolean> {
    if (this.latest.status === 'finished') return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      let connection: EventStream | undefined;
      let retry: NodeJS.Timeout | undefined;
      let soon: NodeJS.Timeout | undefined;
      let delay = RETRY_MIN_MS;
      const end = (outcome: boolean | CliError) => {
        if (this.over) return;
        this.over = true;
        clearTimeout(timer);
        clearTimeout(retry);
        clearTimeout(soon);
        clearInterval(idle);
        connection?.stop();
        if (typeof outcome === 'boolean') resolve(outcome);
        else reject(outcome);
      };
      const timer = setTimeout(() => end(false), ms);
      const reread = async () => {
        try {
          const answer = await this.client.pushSummary(this.latest.pushId);
          if (this.over) return;
          this.latest = answer;
          this.display.counts(answer);
          if (answer.status === 'finished') end(true);
        } catch (error) {
          const problem = cliErrorOf(error) as { cliMessage?: string; message?: string };
          this.problem = problem.cliMessage ?? problem.message ?? String(error);
        }
      };
      const idle = setInterval(() => void reread(), IDLE_REREAD_MS);
      const rereadSoon = () => {
        soon ??= setTimeout(() => {
          soon = undefined;
          void reread();
        }, REREAD_MS);
      };
      const connect = () => {
        if (this.over) return;
        connection = openEventStream(this.client, {
          open: () => {
            delay = RETRY_MIN_MS;
            this.problem = undefined;
            this.display.stream(undefined);
            void reread();
          },
          event: (name, data) => {
            if (name !== 'push.progress') return;
            const progress = parseProgress(data);
            if (progress?.pushId !== this.latest.pushId) return;
            this.display.change(progress.deviceId, progress.status, progress.reason);
            rereadSoon();
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
   * wait must not hang on a server that stopped answering), else as last read.
   */
  async final(): Promise<PushBody> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), FINAL_READ_MS)));
    const answer = await Promise.race([this.client.pushSummary(this.latest.pushId).catch(() => undefined), late]);
    clearTimeout(timer);
    return answer ?? this.latest;
  }
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
