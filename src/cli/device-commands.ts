import type { Command } from 'commander';
import type { DeviceBody } from '../http/management/schemas.js';
import { ApiClient } from './api-client.js';
import { show, withApiOptions, type ApiOptions } from './command-options.js';
import { formatTime, summary, table } from './output.js';

interface CreateOptions extends ApiOptions {
  readonly description?: string;
}

/** `fota devices create|list`. */
export function registerDeviceCommands(program: Command): void {
  const devices = program
    .command('devices')
    .alias('device')
    .description("create and list a prototype's test devices; each gets a deviceId and a deviceKey")
    .addHelpText(
      'after',
      `
A device authenticates to the MCS device API with its deviceId and deviceKey: put both in
its firmware or configuration. The key is 16 random letters and digits.`,
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
      const answer = await ApiClient.connect(options).post<DeviceBody>(
        `/prototypes/${encodeURIComponent(prototypeId)}/devices`,
        { name, description: options.description },
      );
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
      .description("list a prototype's devices with their keys and the firmware each last reported")
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
      const answer = await ApiClient.connect(options).get<DeviceBody[]>(
        `/prototypes/${encodeURIComponent(prototypeId)}/devices`,
      );
      show(options, answer, (list) =>
        list.length === 0
          ? `No devices in ${prototypeId} yet. Create one with: fota devices create ${prototypeId} <name>\n`
          : table(
              ['DEVICE ID', 'DEVICE KEY', 'NAME', 'FIRMWARE', 'CREATED'],
              list.map((device) => [
                device.deviceId,
                device.deviceKey,
                device.name,
                reportedFirmware(device),
                formatTime(device.createdAt),
              ]),
            ),
      );
    });
}

const reportedFirmware = (device: DeviceBody): string =>
  device.firmware === null ? '-' : `${device.firmware.version} (${device.firmware.fwId ?? 'deleted'})`;

const describeDevice = (device: DeviceBody): string =>
  summary([
    ['deviceId', device.deviceId],
    ['deviceKey', device.deviceKey],
    ['prototypeId', device.prototypeId],
    ['name', device.name],
    ...(device.description === '' ? [] : [['description', device.description] as const]),
    ['firmware', reportedFirmware(device)],
    ['created', formatTime(device.createdAt)],
  ]);
