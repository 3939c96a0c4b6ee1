import { Option, type Command } from 'commander';
import type { PrototypeBody } from '../contract/schemas.js';
import { connect } from './api-connection.js';
import { changesOf, JSON_HELP_DELETE, show, withApiOptions, type ApiOptions } from './command-options.js';
import { formatTime, summary, table } from './output.js';

interface CreateOptions extends ApiOptions {
  readonly description?: string;
  readonly versionPolicy?: 'any' | 'increasing';
  readonly linkit7681?: boolean;
}

interface EditOptions extends CreateOptions {
  readonly name?: string;
}

interface DeleteOptions extends ApiOptions {
  readonly force?: boolean;
}

const versionPolicyOption = (description: string) =>
  new Option('--version-policy <policy>', description).choices(['any', 'increasing']);

/** `fota prototypes create|list|show|edit|delete`. */
export function registerPrototypeCommands(program: Command): void {
  const prototypes = program
    .command('prototypes')
    .alias('prototype')
    .description(
      'create, list, show, edit and delete prototypes: a prototype is a product model, it owns devices and firmwares',
    )
    .addHelpText(
      'after',
      `
A prototype groups the devices of one product and the firmwares they can be offered.
Its version policy decides which firmware versions are allowed:
  any         versions are free text (unique in the prototype); a device is offered
              every firmware whose prerequisites it meets, except the one it runs
  increasing  versions read like 1.2.3 and each new one must be higher than all others;
              devices are only offered versions higher than theirs (LinkIt 7681)`,
    );

  withApiOptions(
    prototypes
      .command('create')
      .description('create a prototype and print its prototypeId')
      .argument('<name>', 'name of the prototype, 1 to 100 characters')
      .option('--description <text>', 'what the prototype is')
      .addOption(versionPolicyOption('which firmware versions are allowed (see `fota help prototypes`); default any'))
      .option(
        '--linkit7681',
        'its devices are LinkIt Connect 7681 boards: versions major.minor (0-255 each), policy increasing (docs/linkit7681.md)',
      ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota prototypes create "Smart lamp"
  $ fota prototypes create "LinkIt 7681 sensor" --linkit7681 --description "Hall B"
  $ PID=$(fota prototypes create "Smart lamp" --json | jq -r .prototypeId)`,
    )
    .action(async (name: string, options: CreateOptions) => {
      const answer = await connect(options).createPrototype({
        name,
        description: options.description,
        versionPolicy: options.versionPolicy,
        board: options.linkit7681 === true ? 'linkit7681' : undefined,
      });
      show(options, answer, (prototype) =>
        [
          `Created prototype ${prototype.prototypeId}\n`,
          describePrototype(prototype),
          `\nNext: fota devices create ${prototype.prototypeId} <device name>\n`,
          `      fota firmware upload ${prototype.prototypeId} <file> --name <name> --version <version>\n`,
        ].join(''),
      );
    });

  withApiOptions(prototypes.command('list').description('list the prototypes, oldest first'))
    .addHelpText(
      'after',
      `
Examples:
  $ fota prototypes list
  $ fota prototypes list --json | jq -r '.[].prototypeId'`,
    )
    .action(async (options: ApiOptions) => {
      const answer = await connect(options).prototypes();
      show(options, answer, (list) =>
        list.length === 0
          ? 'No prototypes yet. Create one with: fota prototypes create <name>\n'
          : table(
              ['PROTOTYPE ID', 'NAME', 'VERSION POLICY', 'CREATED'],
              list.map((prototype) => [
                prototype.prototypeId,
                prototype.name,
                prototype.versionPolicy,
                formatTime(prototype.createdAt),
              ]),
            ),
      );
    });

  withApiOptions(
    prototypes
      .command('show')
      .description("print a prototype's fields")
      .argument('<prototypeId>', 'the prototype to show'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota prototypes show P4cjC0Jd3XwE
  $ fota prototypes show P4cjC0Jd3XwE --json | jq -r .versionPolicy`,
    )
    .action(async (prototypeId: string, options: ApiOptions) => {
      const answer = await connect(options).prototype(prototypeId);
      show(options, answer, (prototype) => `Prototype ${prototype.prototypeId}\n${describePrototype(prototype)}`);
    });

  withApiOptions(
    prototypes
      .command('edit')
      .description("change a prototype's name, description or version policy, and print it")
      .argument('<prototypeId>', 'the prototype to change')
      .option('--name <name>', 'new name, 1 to 100 characters')
      .option('--description <text>', 'new description ("" clears it)')
      .addOption(
        versionPolicyOption(
          'new version policy; switching to increasing needs versions that already increase in upload order',
        ),
      ),
  )
    .addHelpText(
      'after',
      `
Give at least one of the options; the others keep their value.

Examples:
  $ fota prototypes edit P4cjC0Jd3XwE --name "Smart lamp v2"
  $ fota prototypes edit P4cjC0Jd3XwE --version-policy increasing --description ""`,
    )
    .action(async (prototypeId: string, options: EditOptions) => {
      const changes = changesOf(
        'prototypes edit',
        { name: options.name, description: options.description, versionPolicy: options.versionPolicy },
        ['--name', '--description', '--version-policy'],
      );
      const answer = await connect(options).editPrototype(prototypeId, changes);
      show(
        options,
        answer,
        (prototype) => `Changed prototype ${prototype.prototypeId}\n${describePrototype(prototype)}`,
      );
    });

  withApiOptions(
    prototypes
      .command('delete')
      .description('delete a prototype; with --force, also its devices, firmwares and pushes')
      .argument('<prototypeId>', 'the prototype to delete')
      .option('--force', 'delete it even though it has devices or firmwares, and them with it'),
    JSON_HELP_DELETE,
  )
    .addHelpText(
      'after',
      `
There is no confirmation. Without --force a prototype that still has devices or firmwares is
kept and the server answers in_use (HTTP 409). With --force everything it owns goes with it:
its devices (their keys stop working), their data points and push history, its firmwares and
their files (a file stays while another firmware has the same bytes), and its pushes.
With --json nothing is printed: the API answers 204 No Content.

Examples:
  $ fota prototypes delete P4cjC0Jd3XwE
  $ fota prototypes delete P4cjC0Jd3XwE --force`,
    )
    .action(async (prototypeId: string, options: DeleteOptions) => {
      const answer = await connect(options).deletePrototype(prototypeId, options.force === true);
      show(options, answer, () =>
        options.force
          ? `Deleted prototype ${prototypeId} with its devices, firmwares and pushes\n`
          : `Deleted prototype ${prototypeId}\n`,
      );
    });
}

const describePrototype = (prototype: PrototypeBody): string =>
  summary([
    ['prototypeId', prototype.prototypeId],
    ['name', prototype.name],
    ...(prototype.description === '' ? [] : [['description', prototype.description] as const]),
    ['version policy', prototype.versionPolicy],
    ['board', prototype.board],
    ['created', formatTime(prototype.createdAt)],
  ]);
