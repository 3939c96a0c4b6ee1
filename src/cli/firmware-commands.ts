import { InvalidArgumentError, Option, type Command } from 'commander';
import { isDomainError } from '../domain/errors.js';
import { parsePrerequisites } from '../domain/prerequisites.js';
import type { FirmwareBody } from '../contract/schemas.js';
import { connect } from './api-connection.js';
import { changesOf, JSON_HELP_DELETE, show, withApiOptions, type ApiOptions } from './command-options.js';
import { uploadFirmware } from './firmware-upload.js';
import { formatBytes, formatTime, summary, table } from './output.js';
import { readSigningKeyFile, signHere } from './signing-key-file.js';

interface UploadOptions extends ApiOptions {
  readonly name: string;
  readonly version: string;
  readonly releaseNote?: string;
  readonly prerequisites?: string;
  readonly checksum?: string;
  readonly sign?: string;
}

interface EditOptions extends ApiOptions {
  readonly name?: string;
  readonly releaseNote?: string;
  readonly prerequisites?: string;
}

interface DeleteOptions extends ApiOptions {
  readonly force?: boolean;
}

/** `fota firmware upload|list|show|edit|delete`. */
export function registerFirmwareCommands(program: Command): void {
  const firmware = program
    .command('firmware')
    .alias('firmwares')
    .description("upload, list, show, edit and delete a prototype's firmwares; each gets a fwId and a download URL")
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
      )
      .option(
        '--sign <key.pem>',
        "sign the firmware's manifest here with this Ed25519 private key (openssl genpkey -algorithm ed25519); only the signature reaches the server, whose prototype must have the key registered",
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
      // The key is read before the upload: a wrong path costs no upload.
      const key = options.sign === undefined ? undefined : await readSigningKeyFile(options.sign);
      const client = connect(options);
      const answer = await uploadFirmware(client, prototypeId, file, {
        name: options.name,
        version: options.version,
        releaseNote: options.releaseNote,
        prerequisites: options.prerequisites,
        checksum: options.checksum,
      });
      const signed = key === undefined ? undefined : await signHere(client, answer.fwId, key);
      show(
        options,
        answer,
        (uploaded) =>
          `Uploaded firmware ${uploaded.fwId}\n${describeFirmware(uploaded)}` +
          (signed ? `Signed with key ${signed.keyId}: ${signed.manifestUrl}\n` : ''),
      );
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
      const answer = await connect(options).firmwares(prototypeId);
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

  withApiOptions(
    firmware
      .command('show')
      .description("print a firmware's fields: size, MD5, SHA-256, prerequisites and download URL")
      .argument('<fwId>', 'the firmware to show (F followed by 11 letters or digits)'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota firmware show FKgaAQDiAk3h
  $ curl -O "$(fota firmware show FKgaAQDiAk3h --json | jq -r .url)"`,
    )
    .action(async (fwId: string, options: ApiOptions) => {
      const answer = await connect(options).firmware(fwId);
      show(options, answer, (item) => `Firmware ${item.fwId}\n${describeFirmware(item)}`);
    });

  withApiOptions(
    firmware
      .command('edit')
      .description("change a firmware's name, release note or prerequisites, and print it")
      .argument('<fwId>', 'the firmware to change')
      .option('--name <name>', 'new name, 1 to 100 characters')
      .option('--release-note <text>', 'new release note ("" clears it)')
      .addOption(
        new Option('--prerequisites <all|fwIds>', 'new prerequisites: "all", or fwIds separated by commas').argParser(
          prerequisitesText,
        ),
      ),
  )
    .addHelpText(
      'after',
      `
Give at least one of the options; the others keep their value. The version and the file
cannot change: upload a new firmware instead.

Examples:
  $ fota firmware edit FcF91bIYAwH9 --release-note "Dimmer fix, faster boot"
  $ fota firmware edit FcF91bIYAwH9 --prerequisites FKgaAQDiAk3h,FAa6B540CMmJ
  $ fota firmware edit FcF91bIYAwH9 --prerequisites all`,
    )
    .action(async (fwId: string, options: EditOptions) => {
      const changes = changesOf(
        'firmware edit',
        {
          name: options.name,
          releaseNote: options.releaseNote,
          prerequisites:
            options.prerequisites === undefined
              ? undefined
              : options.prerequisites === 'all'
                ? 'all'
                : options.prerequisites.split(','),
        },
        ['--name', '--release-note', '--prerequisites'],
      );
      const answer = await connect(options).editFirmware(fwId, changes);
      show(options, answer, (item) => `Changed firmware ${item.fwId}\n${describeFirmware(item)}`);
    });

  withApiOptions(
    firmware
      .command('delete')
      .description('delete a firmware and its file; with --force, even when devices run it')
      .argument('<fwId>', 'the firmware to delete')
      .option('--force', 'delete it even though devices run it or other firmwares list it as prerequisite'),
    JSON_HELP_DELETE,
  )
    .addHelpText(
      'after',
      `
There is no confirmation. Without --force a firmware that a device last reported running, or
that another firmware lists as prerequisite, is kept and the server answers in_use (HTTP 409).
Deleting removes the firmware, its download URL and its file (the file stays while another
firmware has the same bytes), and takes it out of other firmwares' prerequisites (one left
with no prerequisite is offered to no device until you edit it). Devices that
run it keep their reported version, without a fwId; its pushes stay as history. With --json
nothing is printed: the API answers 204 No Content.

Examples:
  $ fota firmware delete FKgaAQDiAk3h
  $ fota firmware delete FKgaAQDiAk3h --force`,
    )
    .action(async (fwId: string, options: DeleteOptions) => {
      const answer = await connect(options).deleteFirmware(fwId, options.force === true);
      show(options, answer, () => `Deleted firmware ${fwId}\n`);
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
