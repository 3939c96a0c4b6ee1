import type { Command } from 'commander';
import type { DeviceBody } from '../contract/schemas.js';
import { connect } from './api-connection.js';
import { changesOf, JSON_HELP_DELETE, show, withApiOptions, type ApiOptions } from './command-options.js';
import { formatTime, summary, table } from './output.js';

interface CreateOptions extends ApiOptions {
  readonly description?: string;
}

interface EditOptions extends CreateOptions {
  readonly name?: string;
}

/** `fota devices create|list|show|edit|delete|rotate-key`. */
export function registerDeviceCommands(program: Command): void {
  const devices = program
    .command('devices')
    .alias('device')
    .description("create, list, show, edit and delete a prototype's test devices, and rotate their keys")
    .addHelpText(
      'after',
      `
A device authenticates to the MCS device API with its deviceId and deviceKey: put both in
its firmware or configuration. The key is 16 random letters and digits.
A device is online while it holds a TCP command connection or an MQTT session.`,
    );

  withApiOptions(
    devices
      .command('create')
      .description('create a device in a prototype and print its deviceId and deviceKey')
      .argument('<prototypeId>', 'the prototype the device belongs to (P followed by 11 letters or digits)')
      .argument('<name>', 'name of the device, 1 to 100 characters')
      .option('--description <text>', 'what or where the device is'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota devices create P4cjC0Jd3XwE "Lamp on desk 3"
  $ fota devices create P4cjC0Jd3XwE bench-01 --json | jq -r '.deviceId + " " + .deviceKey'`,
    )
    .action(async (prototypeId: string, name: string, options: CreateOptions) => {
      const answer = await connect(options).createDevice(prototypeId, { name, description: options.description });
      show(options, answer, (device) =>
        [
          `Created device ${device.deviceId} with key ${device.deviceKey}\n`,
          describeDevice(device),
          '\nThe device authenticates with its deviceId and deviceKey: configure both on it.\n',
        ].join(''),
      );
    });

  withApiOptions(
    devices
      .command('list')
      .description("list a prototype's devices: keys, whether each is online, the firmware it last reported")
      .argument('<prototypeId>', 'the prototype whose devices to list'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota devices list P4cjC0Jd3XwE
  $ fota devices list P4cjC0Jd3XwE --json | jq -r '.[] | .deviceId + "," + .deviceKey'`,
    )
    .action(async (prototypeId: string, options: ApiOptions) => {
      const answer = await connect(options).devices(prototypeId);
      show(options, answer, (list) =>
        list.length === 0
          ? `No devices in ${prototypeId} yet. Create one with: fota devices create ${prototypeId} <name>\n`
          : table(
              ['DEVICE ID', 'DEVICE KEY', 'NAME', 'ONLINE', 'FIRMWARE', 'CREATED'],
              list.map((device) => [
                device.deviceId,
                device.deviceKey ?? '(hidden)',
                device.name,
                onlineText(device),
                reportedFirmware(device),
                formatTime(device.createdAt),
              ]),
            ),
      );
    });

  withApiOptions(
    devices
      .command('show')
      .description('print a device: key, presence, reported firmware and last data point values')
      .argument('<deviceId>', 'the device to show (D followed by 7 letters or digits)'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota devices show D1UoYvqt
  $ fota devices show D1UoYvqt --json | jq .presence.online`,
    )
    .action(async (deviceId: string, options: ApiOptions) => {
      const answer = await connect(options).device(deviceId);
      show(options, answer, (device) => `Device ${device.deviceId}\n${describeDevice(device, true)}`);
    });

  withApiOptions(
    devices
      .command('edit')
      .description("change a device's name or description, and print it")
      .argument('<deviceId>', 'the device to change')
      .option('--name <name>', 'new name, 1 to 100 characters')
      .option('--description <text>', 'new description ("" clears it)'),
  )
    .addHelpText(
      'after',
      `
Give at least one of the options; the other keeps its value. The key does not change:
see \`fota devices rotate-key\`.

Examples:
  $ fota devices edit D1UoYvqt --name "Lamp on desk 4"
  $ fota devices edit D1UoYvqt --description ""`,
    )
    .action(async (deviceId: string, options: EditOptions) => {
      const changes = changesOf('devices edit', { name: options.name, description: options.description }, [
        '--name',
        '--description',
      ]);
      const answer = await connect(options).editDevice(deviceId, changes);
      show(options, answer, (device) => `Changed device ${device.deviceId}\n${describeDevice(device)}`);
    });

  withApiOptions(
    devices
      .command('delete')
      .description('delete a device, with its data points and its push history')
      .argument('<deviceId>', 'the device to delete'),
    JSON_HELP_DELETE,
  )
    .addHelpText(
      'after',
      `
There is no confirmation. The device's key stops working at once and its open TCP or MQTT
connection is closed, so it cannot report or connect any more; its last data point values and
its targets in pushes go with it (the pushes themselves stay, with their other devices). With
--json nothing is printed: the API answers 204 No Content.

Example:
  $ fota devices delete D1UoYvqt`,
    )
    .action(async (deviceId: string, options: ApiOptions) => {
      const answer = await connect(options).deleteDevice(deviceId);
      show(options, answer, () => `Deleted device ${deviceId}\n`);
    });

  withApiOptions(
    devices
      .command('rotate-key')
      .description('give a device a new random key and print it; the old key stops working at once')
      .argument('<deviceId>', 'the device whose key to replace'),
  )
    .addHelpText(
      'after',
      `
Put the new key on the device: until then the server refuses its reports, data points and new
TCP or MQTT connections (a connection already open stays until it drops).

Examples:
  $ fota devices rotate-key D1UoYvqt
  $ fota devices rotate-key D1UoYvqt --json | jq -r .deviceKey`,
    )
    .action(async (deviceId: string, options: ApiOptions) => {
      const answer = await connect(options).rotateKey(deviceId);
      show(options, answer, (device) =>
        [
          `New key for device ${device.deviceId}: ${device.deviceKey}\n`,
          describeDevice(device),
          '\nThe old key no longer works: configure the new one on the device.\n',
        ].join(''),
      );
    });
}

/** `yes (tcp)`, `no`. */
const onlineText = (device: DeviceBody): string =>
  device.presence.online ? `yes (${device.presence.protocol ?? '?'})` : 'no';

const reportedFirmware = (device: DeviceBody): string =>
  device.firmware === null ? '-' : `${device.firmware.version} (${device.firmware.fwId ?? 'deleted'})`;

/** The device's fields; `full` adds when it was last seen and its last data point values. */
function describeDevice(device: DeviceBody, full = false): string {
  const { presence } = device;
  const pairs: Array<readonly [string, string]> = [
    ['deviceId', device.deviceId],
    ['deviceKey', device.deviceKey ?? '(hidden: a viewer does not see keys)'],
    ['prototypeId', device.prototypeId],
    ['name', device.name],
    ...(device.description === '' ? [] : [['description', device.description] as const]),
    ['online', onlineText(device)],
    ['firmware', reportedFirmware(device)],
    ['created', formatTime(device.createdAt)],
  ];
  if (full) {
    if (presence.since !== null)
      pairs.push([presence.online ? 'online since' : 'offline since', formatTime(presence.since)]);
    if (presence.lastSeen !== null) pairs.push(['last seen', formatTime(presence.lastSeen)]);
    if (device.firmware !== null) pairs.push(['reported', formatTime(device.firmware.reportedAt)]);
  }
  const text = summary(pairs);
  if (!full || device.channels.length === 0) return text;
  return `${text}Data points:\n${table(
    ['  CHANNEL', 'VALUES', 'AT'],
    device.channels.map((channel) => [
      `  ${channel.channelId}`,
      Object.entries(channel.values)
        .map(([key, value]) => `${key}=${value}`)
        .join(' '),
      formatTime(channel.timestamp),
    ]),
  )}`;
}
