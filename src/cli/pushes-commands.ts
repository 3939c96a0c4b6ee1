import { InvalidArgumentError, Option, type Command } from 'commander';
import { pushStatuses, type PushStatus } from '../contract/http-client.js';
import type { DevicePushBody, PushBody, PushTargetBody, PushTargetPageBody } from '../contract/schemas.js';
import { connect } from './api-connection.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import { show, withApiOptions, type ApiOptions } from './command-options.js';
import { countsText, formatTime, statusText, summary, table } from './output.js';

interface ListOptions extends ApiOptions {
  readonly firmware?: string;
  readonly device?: string;
}

interface TargetOptions extends ApiOptions {
  readonly status?: PushStatus;
  readonly limit: number;
  readonly cursor?: string;
}

/** Devices `pushes show` lists; past them it says how to page with `pushes targets`. */
const SHOWN_TARGETS = 100;

/** `fota pushes show|list`: the status of pushes made with `fota push` (or the console). */
export function registerPushesCommands(program: Command): void {
  const pushes = program
    .command('pushes')
    .description("follow pushes: a push's status per device, a firmware's pushes, a device's push history")
    .addHelpText(
      'after',
      `
A push sends one firmware to devices (fota push). Each device in it moves through
queued or sent, delivered, downloading, and ends upgraded or failed; offline and
incompatible devices got nothing.`,
    );

  withApiOptions(
    pushes
      .command('show')
      .description('print a push, its status and counts, and the status of its first 100 devices')
      .argument('<pushId>', 'the push to show (U followed by 11 letters or digits, as fota push printed it)'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota pushes show UaE3k0Rq8vXn
  $ fota pushes show UaE3k0Rq8vXn --json | jq .counts

With --json, the push summary (GET /api/v1/pushes/:pushId); its devices are in fota pushes targets.`,
    )
    .action(async (pushId: string, options: ApiOptions) => {
      const client = connect(options);
      const answer = await client.pushSummary(pushId);
      if (options.json) return show(options, answer, () => '');
      const page = await client.pushTargets(pushId, { limit: SHOWN_TARGETS });
      show(options, answer, (push) => describePushStatus(push, page));
    });

  withApiOptions(
    pushes
      .command('targets')
      .description("a page of a push's devices, in device id order, optionally of one status")
      .argument('<pushId>', 'the push')
      .addOption(new Option('--status <status>', 'only the devices in this status').choices([...pushStatuses]))
      .addOption(new Option('--limit <count>', 'devices per page, 1 to 500').argParser(pageLimit).default(100))
      .option('--cursor <cursor>', 'the page after this cursor (the last page printed it)'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota pushes targets UaE3k0Rq8vXn --status failed
  $ fota pushes targets UaE3k0Rq8vXn --limit 500 --cursor D7rTq2Lm --json | jq -r '.targets[].deviceId'`,
    )
    .action(async (pushId: string, options: TargetOptions) => {
      const answer = await connect(options).pushTargets(pushId, {
        status: options.status,
        cursor: options.cursor,
        limit: options.limit,
      });
      show(options, answer, (page) =>
        page.targets.length === 0
          ? `No device of push ${pushId}${options.status ? ` is ${options.status}` : ''}.\n`
          : targetTable(page.targets) +
            (page.nextCursor === null ? '' : `More: fota pushes targets ${pushId} --cursor ${page.nextCursor}\n`),
      );
    });

  withApiOptions(
    pushes
      .command('list')
      .description("list a firmware's pushes (--firmware) or a device's push history (--device), newest first")
      .option('--firmware <fwId>', 'the pushes of this firmware', idText('F', 'fwId'))
      .option(
        '--device <deviceId>',
        'the pushes that included this device, with its status in each',
        idText('D', 'deviceId'),
      ),
  )
    .addHelpText(
      'after',
      `
Give exactly one of --firmware and --device.

Examples:
  $ fota pushes list --firmware FKgaAQDiAk3h
  $ fota pushes list --device D1UoYvqt
  $ fota pushes list --device D1UoYvqt --json | jq -r '.[0].target.status'`,
    )
    .action(async (options: ListOptions) => {
      if ((options.firmware === undefined) === (options.device === undefined)) {
        throw new CliError(
          'give exactly one of --firmware <fwId> and --device <deviceId>; run fota pushes list --help',
          USAGE_EXIT_CODE,
        );
      }
      const client = connect(options);
      if (options.firmware !== undefined) {
        const fwId = options.firmware;
        const answer = await client.firmwarePushes(fwId);
        show(options, answer, (list) =>
          list.length === 0
            ? `No pushes of ${fwId} yet. Push it with: fota push ${fwId} <deviceId...>\n`
            : table(['PUSH ID', 'VERSION', 'DEVICES', 'STATUS', 'COUNTS', 'CREATED'], list.map(pushRow)),
        );
        return;
      }
      const deviceId = options.device as string;
      const answer = await client.devicePushes(deviceId);
      show(options, answer, (list) =>
        list.length === 0
          ? `No pushes to ${deviceId} yet.\n`
          : table(['PUSH ID', 'FIRMWARE', 'VERSION', 'STATUS', 'REASON', 'CREATED'], list.map(historyRow)),
      );
    });
}

/*
 * The push answer's shape is read only below, so that a change of the answer changes these three.
 */

/** A row of `pushes list --firmware`: the push, how many devices, its status, the count per status. */
const pushRow = (push: PushBody): string[] => [
  push.pushId,
  push.version,
  String(push.total),
  statusText(push.status),
  countsText(push.counts),
  formatTime(push.createdAt),
];

/** A row of `pushes list --device`: the push and where this device stands in it. */
const historyRow = (push: DevicePushBody): string[] => [
  push.pushId,
  push.fwId,
  push.version,
  push.target.status,
  push.target.reason ?? '-',
  formatTime(push.createdAt),
];

const targetTable = (targets: readonly PushTargetBody[]): string =>
  table(
    ['DEVICE ID', 'STATUS', 'REASON', 'UPDATED'],
    targets.map((target) => [target.deviceId, target.status, target.reason ?? '-', formatTime(target.updatedAt)]),
  );

/** A push as `fota pushes show` prints it: what was pushed, its status and counts, and its first devices. */
export function describePushStatus(push: PushBody, page: PushTargetPageBody): string {
  const options = [push.force ? 'force' : '', push.queueOffline ? 'queue offline' : ''].filter(Boolean);
  const more = push.total - page.targets.length;
  return [
    `Push ${push.pushId}\n`,
    summary([
      ['firmware', `${push.fwId} version ${push.version}`],
      ['prototypeId', push.prototypeId],
      ['created', `${formatTime(push.createdAt)} by ${push.createdBy}`],
      ...(options.length === 0 ? [] : [['options', options.join(', ')] as const]),
      ['status', statusText(push.status)],
      ['devices', String(push.total)],
      ['counts', countsText(push.counts)],
    ]),
    targetTable(page.targets),
    more > 0 && page.nextCursor !== null
      ? `and ${more} more: fota pushes targets ${push.pushId} --cursor ${page.nextCursor}\n`
      : '',
  ].join('');
}

/** An id given to an option: checked for its letter, so that `--device F…` is caught before any call. */
function idText(letter: string, name: string): (text: string) => string {
  return (text) => {
    const trimmed = text.trim();
    if (!new RegExp(`^${letter}[A-Za-z0-9]+$`).test(trimmed)) {
      throw new InvalidArgumentError(`a ${name} starts with ${letter} followed by letters or digits.`);
    }
    return trimmed;
  };
}

function pageLimit(text: string): number {
  const limit = Number(text);
  if (!/^\d+$/.test(text.trim()) || limit < 1 || limit > 500) {
    throw new InvalidArgumentError('a whole number from 1 to 500.');
  }
  return limit;
}
