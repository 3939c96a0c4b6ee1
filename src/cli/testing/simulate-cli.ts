/**
 * `fota simulate` alone, as main.ts runs it, for the command's tests: a child process runs this
 * file through tsx, so the tests do not depend on which other commands main.ts registers.
 */
import { Command, CommanderError } from 'commander';
import { reportUsageErrors } from '../cli-error.js';
import { registerSimulateCommand } from '../simulate-command.js';

const program = new Command('fota').enablePositionalOptions().exitOverride();
registerSimulateCommand(program);
reportUsageErrors(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const { cliMessage, exitCode } = error as { cliMessage?: string; exitCode?: number };
  process.stderr.write(`fota: ${cliMessage ?? String(error)}\n`);
  process.exit(exitCode ?? 1);
}
