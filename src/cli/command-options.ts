import { Option, type Command } from 'commander';
import { answerText } from '../contract/http-client.js';
import type { ApiTarget } from './api-connection.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import { print } from './output.js';

/** The options every command over the management API takes. */
export interface ApiOptions extends ApiTarget {
  readonly json?: boolean;
}

export const DEFAULT_URL = 'http://localhost:8080';

export const JSON_HELP = "print the API's JSON answer exactly as it came, for scripts";
/** What `--json` prints for a deletion, whose answer is 204 No Content. */
export const JSON_HELP_DELETE = 'print nothing on success (the API answers 204 No Content), for scripts';

/** Adds `--json`, `--url` and `--token` to a command over the management API. */
export function withApiOptions(command: Command, jsonHelp = JSON_HELP): Command {
  return command
    .option('--json', jsonHelp)
    .addOption(
      new Option('--url <base>', 'base URL of the fota server')
        .env('FOTA_URL')
        .default(DEFAULT_URL)
        .helpGroup('Server options:'),
    )
    .addOption(
      new Option('--token <token>', 'administrator token (printed by `fota serve` on its first start)')
        .env('FOTA_TOKEN')
        .helpGroup('Server options:'),
    );
}

/**
 * Prints an answer: with `--json` its JSON text exactly as the server sent it (nothing for an
 * answer without a body, such as the 204 of a deletion), otherwise the readable form.
 */
export function show<T>(options: ApiOptions, answer: T, readable: (body: T) => string): void {
  if (!options.json) print(readable(answer));
  else if (answer !== undefined) print(`${jsonText(answer)}\n`);
}

/** The JSON text the server sent for an answer of the client. */
export const jsonText = (answer: unknown): string => answerText(answer) ?? JSON.stringify(answer);

/**
 * The fields an `edit` command changes, from the options given; a usage error when none is, since
 * a PATCH without a field would change nothing.
 */
export function changesOf(
  command: string,
  fields: Readonly<Record<string, unknown>>,
  flags: readonly string[],
): Record<string, unknown> {
  const changes = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  if (Object.keys(changes).length === 0) {
    throw new CliError(`nothing to change: pass ${orList(flags)}; run fota ${command} --help`, USAGE_EXIT_CODE);
  }
  return changes;
}

const orList = (items: readonly string[]): string =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;

/** `/users/U1UoYvqt`: a path from literal parts and ids, each id encoded. */
export const pathOf = (...parts: readonly string[]): string =>
  parts.map((part, index) => (index % 2 === 0 ? part : `/${encodeURIComponent(part)}`)).join('');
