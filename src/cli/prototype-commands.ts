import { Option, type Command } from 'commander';
import type { PrototypeBody } from '../http/management/schemas.js';
import { ApiClient } from './api-client.js';
import { show, withApiOptions, type ApiOptions } from './command-options.js';
import { formatTime, summary, table } from './output.js';

interface CreateOptions extends ApiOptions {
  readonly description?: string;
  readonly versionPolicy?: 'any' | 'increasing';
}

/** `fota prototypes create|list`. */
export function registerPrototypeCommands(program: Command): void {
  const prototypes = program
    .command('prototypes')
    .alias('prototype')
    .description('create and list prototypes: a prototype is a product model, it owns devices and firmwares')
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
      .addOption(
        new Option('--version-policy <policy>', 'which firmware versions are allowed (see `fota help prototypes`)')
          .choices(['any', 'increasing'])
          .default('any'),
      ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota prototypes create "Smart lamp"
  $ fota prototypes create "LinkIt 7681 sensor" --version-policy increasing --description "Hall B"
  $ PID=$(fota prototypes create "Smart lamp" --json | jq -r .prototypeId)`,
    )
    .action(async (name: string, options: CreateOptions) => {
      const client = ApiClient.connect(options);
      const answer = await client.post<PrototypeBody>('/prototypes', {
        name,
        description: options.description,
        versionPolicy: options.versionPolicy,
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
      const answer = await ApiClient.connect(options).get<PrototypeBody[]>('/prototypes');
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
}

const describePrototype = (prototype: PrototypeBody): string =>
  summary([
    ['prototypeId', prototype.prototypeId],
    ['name', prototype.name],
    ...(prototype.description === '' ? [] : [['description', prototype.description] as const]),
    ['version policy', prototype.versionPolicy],
    ['created', formatTime(prototype.createdAt)],
  ]);
