/**
 * An error `fota` reports as one line, `fota: <cliMessage>`, before exiting with `exitCode`
 * (main.ts prints it). The message says what went wrong and, when it can, what to do about it.
 */
export class CliError extends Error {
  readonly cliMessage: string;
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.cliMessage = message;
    this.exitCode = exitCode;
  }
}

export const isCliError = (error: unknown): error is CliError => error instanceof CliError;
