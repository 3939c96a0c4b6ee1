import { InvalidArgumentError, type Command } from 'commander';
import { pushStatuses } from '../domain/push.js';
import type { PushBody } from '../http/management/schemas.js';
import { ApiClient } from './api-client.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import { pathOf, show, withApiOptions, type ApiOptions } from './command-options.js';
import { formatTime, summary, table } from './output.js';

interface ListOptions extends ApiOptions {
  readonly firmware?: string;
  readonly device?: string;
}

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
      .description('print a push and the status of each of its devices')
      .argument('<pushId>', 'the push to show (U followed by 11 letters or digits, as fota push printed it)'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota pushes show UaE3k0Rq8vXn
  $ fota pushes show UaE3k0Rq8vXn --json | jq -r '.targets[] | .deviceId + " " + .status'`,
    )
    .action(async (pushId: string, options: ApiOptions) => {
      const answer = await ApiClient.connect(options).get<PushBody>(pathOf('/pushes', pushId));
      show(options, answer, describePushStatus);
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
  $ fota pushes list --device D1UoYvqt --json | jq -r '.[0].targets[0].status'`,
    )
    .action(async (options: ListOptions) => {
      if ((options.firmware === undefined) === (options.device === undefined)) {
        throw new CliError(
          'give exactly one of --firmware <fwId> and --device <deviceId>; run fota pushes list --help',
          USAGE_EXIT_CODE,
        );
      }
      const client = ApiClient.connect(options);
      if (options.firmware !== undefined) {
        const fwId = options.firmware;
        const answer = await client.get<PushBody[]>(`${pathOf('/firmwares', fwId)}/pushes`);
        show(options, answer, (list) =>
          list.length === 0
            ? `No pushes of ${fwId} yet. Push it with: fota push ${fwId} <deviceId...>\n`
            : table(['PUSH ID', 'VERSION', 'DEVICES', 'COUNTS', 'CREATED'], list.map(pushRow)),
        );
        return;
      }
      const deviceId = options.device as string;
      const answer = await client.get<PushBody[]>(`${pathOf('/devices', deviceId)}/pushes`);
      show(options, answer, (list) =>
        list.length === 0
          ? `No pushes to ${deviceId} yet.\n`
          : table(
              ['PUSH ID', 'FIRMWARE', 'VERSION', 'STATUS', 'REASON', 'CREATED'],
              list.map((push) => historyRow(push, deviceId)),
            ),
      );
    });
}

/*
 * The push answer's shape is read only below, so that a change of the answer changes these three.
 */

/** A row of `pushes list --firmware`: the push, how many devices, the count per status. */
const pushRow = (push: PushBody): string[] => [
  push.pushId,
  push.version,
  String(push.targets.length),
  countsText(push.counts),
  formatTime(push.createdAt),
];

/** A row of `pushes list --device`: the push and where this device stands in it. */
function historyRow(push: PushBody, deviceId: string): string[] {
  const target = push.targets.find((one) => one.deviceId === deviceId) ?? push.targets[0];
  return [
    push.pushId,
    push.fwId,
    push.version,
    target?.status ?? '-',
    target?.reason ?? '-',
    formatTime(push.createdAt),
  ];
}

/** A push as `fota pushes show` prints it: what was pushed, the counts, and each device's status. */
export function describePushStatus(push: PushBody): string {
  const options = [push.force ? 'force' : '', push.queueOffline ? 'queue offline' : ''].filter(Boolean);
  return [
    `Push ${push.pushId}\n`,
    summary([
      ['firmware', `${push.fwId} version ${push.version}`],
      ['prototypeId', push.prototypeId],
      ['created', `${formatTime(push.createdAt)} by ${push.createdBy}`],
      ...(options.length === 0 ? [] : [['options', options.join(', ')] as const]),
      ['devices', String(push.targets.length)],
      ['counts', countsText(push.counts)],
    ]),
    table(
      ['DEVICE ID', 'STATUS', 'REASON', 'UPDATED'],
      push.targets.map((target) => [
        target.deviceId,
        target.status,
        target.reason ?? '-',
        formatTime(target.updatedAt),
      ]),
    ),
  ].join('');
}

/** `sent 1, offline 1`: the statuses some target has, in the order of a push's life. */
const countsText = (counts: Readonly<Record<string, number>>): string =>
  pushStatuses
    .filter((status) => (counts[status] ?? 0) > 0)
    .map((status) => `${status} ${counts[status]}`)
    .join(', ') || 'none';

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
