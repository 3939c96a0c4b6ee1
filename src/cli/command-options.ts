import { Option, type Command } from 'commander';
import type { ApiAnswer, ApiTarget } from './api-client.js';
import { print } from './output.js';

/** The options every command over the management API takes. */
export interface ApiOptions extends ApiTarget {
  readonly json?: boolean;
}

export const DEFAULT_URL = 'http://localhost:8080';

/** Adds `--json`, `--url` and `--token` to a command over the management API. */
export function withApiOptions(command: Command): Command {
  return command
    .option('--json', "print the API's JSON answer exactly as it came, for scripts")
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

/** Prints an answer: its JSON text with `--json`, otherwise the readable form. */
export function show<T>(options: ApiOptions, answer: ApiAnswer<T>, readable: (body: T) => string): void {
  print(options.json ? `${answer.text}\n` : readable(answer.body));
}
