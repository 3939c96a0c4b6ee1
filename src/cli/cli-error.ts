import { CommanderError, type Command } from 'commander';

/**
 * An error `fota` reports as one line, `fota: <cliMessage>`, before exiting with `exitCode`
 * (main.ts prints it). The message says what went wrong and, when it can, what to do about it.
 */
export class CliError extends Error {
  readonly cliMessage: string;
  readonly exitCode: number;

  constructor(
    message: string,
    exitCode = 1,
    /** The HTTP status of the API answer it reports, when it reports one. */
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'CliError';
    this.cliMessage = message;
    this.exitCode = exitCode;
  }
}

export const isCliError = (error: unknown): error is CliError => error instanceof CliError;

/** The exit status of a usage error: an unknown command, a missing argument, a bad option. */
export const USAGE_EXIT_CODE = 2;

/**
 * Makes every usage error of `program` and its commands one line on stderr with a hint and exit
 * status 2: `fota: missing required argument 'name'; run fota prototypes create --help`, instead
 * of commander's message followed by the whole help. Help and version requests still exit 0.
 * Call it once every command is registered.
 */
export function reportUsageErrors(program: Command): void {
  const visit = (command: Command) => {
    command
      .showHelpAfterError(false)
      .configureOutput({ outputError: () => {} })
      .exitOverride((error) => {
        throw error.exitCode === 0 || error.code === 'commander.help' ? error : usageError(command, error);
      });
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}

function usageError(command: Command, error: CommanderError): CliError {
  const names: string[] = [];
  for (let at: Command | null = command; at !== null; at = at.parent) names.unshift(at.name());
  const message = error.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.+)\?\)/, ' (did you mean $1?)')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.$/, '');
  return new CliError(`${message}; run ${names.join(' ')} --help`, USAGE_EXIT_CODE);
}
