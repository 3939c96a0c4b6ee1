import { InvalidArgumentError, Option, type Command } from 'commander';
import { isDomainError } from '../domain/errors.js';
import { parsePrerequisites } from '../domain/prerequisites.js';
import type { FirmwareBody } from '../http/management/schemas.js';
import { ApiClient } from './api-client.js';
import { show, withApiOptions, type ApiOptions } from './command-options.js';
import { uploadFirmware } from './firmware-upload.js';
import { formatBytes, formatTime, summary, table } from './output.js';

interface UploadOptions extends ApiOptions {
  readonly name: string;
  readonly version: string;
  readonly releaseNote?: string;
  readonly prerequisites?: string;
  readonly checksum?: string;
}

/** `fota firmware upload|list`. */
export function registerFirmwareCommands(program: Command): void {
  const firmware = program
    .command('firmware')
    .alias('firmwares')
    .description("upload and list a prototype's firmwares; each gets a fwId and a download URL")
    .addHelpText(
      'after',
      `
A device is offered the firmwares of its prototype whose prerequisites it meets: "all"
(any device), or a list of fwIds of which the device must run one. The server keeps the
file's size, MD5 and SHA-256, and devices download it from the firmware's URL.`,
    );

  withApiOptions(
    firmware
      .command('upload')
      .description('upload a firmware file to a prototype and print its fwId, size, MD5 and SHA-256')
      .argument('<prototypeId>', 'the prototype the firmware is for')
      .argument('<file>', 'the firmware file; it is streamed, so any size the server accepts works')
      .requiredOption('--name <name>', 'required: name of the firmware, 1 to 100 characters')
      .requiredOption(
        '--version <version>',
        'required: its version, unique in the prototype; 1 to 32 printable characters, no comma, no space',
      )
      .option('--release-note <text>', 'what changed in this version')
      .addOption(
        new Option(
          '--prerequisites <all|fwIds>',
          '"all", or the fwIds, separated by commas, of the firmwares a device must run to be offered this one',
        )
          .argParser(prerequisitesText)
          .default('all'),
      )
      .option(
        '--checksum <md5>',
        "the file's MD5 in hex; the server refuses the upload when the file it receives differs",
        md5Text,
      ),
  )
    .addHelpText(
      'after',
      `
A progress bar is drawn on stderr when stderr is a terminal.

Examples:
  $ fota firmware upload P4cjC0Jd3XwE build/lamp-1.0.bin --name "Lamp" --version 1.0
  $ fota firmware upload P4cjC0Jd3XwE lamp-1.1.bin --name "Lamp" --version 1.1 \\
      --release-note "Dimmer fix" --prerequisites FAa6B540CMmJ --checksum "$(md5sum lamp-1.1.bin | cut -c1-32)"`,
    )
    .action(async (prototypeId: string, file: string, options: UploadOptions) => {
      const client = ApiClient.connect(options);
      const answer = await uploadFirmware(client, prototypeId, file, {
        name: options.name,
        version: options.version,
        releaseNote: options.releaseNote,
        prerequisites: options.prerequisites,
        checksum: options.checksum,
      });
      show(options, answer, (uploaded) => `Uploaded firmware ${uploaded.fwId}\n${describeFirmware(uploaded)}`);
    });

  withApiOptions(
    firmware
      .command('list')
      .description("list a prototype's firmwares, sorted by version")
      .argument('<prototypeId>', 'the prototype whose firmwares to list'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota firmware list P4cjC0Jd3XwE
  $ fota firmware list P4cjC0Jd3XwE --json | jq -r '.[] | .version + " " + .url'`,
    )
    .action(async (prototypeId: string, options: ApiOptions) => {
      const answer = await ApiClient.connect(options).get<FirmwareBody[]>(
        `/prototypes/${encodeURIComponent(prototypeId)}/firmwares`,
      );
      show(options, answer, (list) =>
        list.length === 0
          ? `No firmwares in ${prototypeId} yet. Upload one with: fota firmware upload ${prototypeId} <file> --name <name> --version <version>\n`
          : table(
              ['FIRMWARE ID', 'VERSION', 'NAME', 'SIZE', 'PREREQUISITES', 'MD5'],
              list.map((item) => [
                item.fwId,
                item.version,
                item.name,
                formatBytes(item.size),
                prerequisitesOf(item),
                item.md5,
              ]),
            ),
      );
    });
}

const prerequisitesOf = (firmware: FirmwareBody): string =>
  firmware.prerequisites === 'all' ? 'all' : firmware.prerequisites.join(',');

const describeFirmware = (firmware: FirmwareBody): string =>
  summary([
    ['fwId', firmware.fwId],
    ['prototypeId', firmware.prototypeId],
    ['name', firmware.name],
    ['version', firmware.version],
    ...(firmware.releaseNote === '' ? [] : [['release note', firmware.releaseNote] as const]),
    ['file', firmware.fileName],
    ['size', `${firmware.size} bytes (${formatBytes(firmware.size)})`],
    ['md5', firmware.md5],
    ['sha256', firmware.sha256],
    ['prerequisites', prerequisitesOf(firmware)],
    ['url', firmware.url],
    ['created', formatTime(firmware.createdAt)],
  ]);

/** `all` or fwIds, checked here so that a typo does not cost a whole upload. */
function prerequisitesText(text: string): string {
  try {
    const prerequisites = parsePrerequisites(text);
    return prerequisites === 'all' ? 'all' : prerequisites.join(',');
  } catch (error) {
    if (isDomainError(error)) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function md5Text(text: string): string {
  const trimmed = text.trim();
  if (!/^[0-9a-fA-F]{32}$/.test(trimmed)) throw new InvalidArgumentError('an MD5 digest is 32 hexadecimal digits.');
  return trimmed.toLowerCase();
}
