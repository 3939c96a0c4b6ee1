import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.js';
import { packageVersion } from '../version.js';
import { registerAdminCommands } from './admin-commands.js';
import { cliErrorOf } from './api-connection.js';
import { registerApiCommands } from './api-commands.js';
import { reportUsageErrors } from './cli-error.js';
import { serveHelp } from './serve-help.js';
import { registerSimulateCommand } from './simulate-command.js';

const program = new Command('fota')
  .description('Firmware management and FOTA server, wire-compatible with MediaTek Cloud Sandbox devices')
  .version(packageVersion)
  // Options before the subcommand belong to `fota`: `firmware upload --version 1.0` is not `fota --version`.
  .enablePositionalOptions();

program
  .command('serve')
  .description('serve the management API, the MCS device API and downloads (what `npm start` runs)')
  .option(
    '--workers <n>',
    'run n worker processes on this machine as nodes of one cluster, sharing the ports (needs FOTA_REDIS_URL)',
  )
  .addHelpText('after', `\n${serveHelp}`)
  // The server's modules load only when it runs, so `fota --help` and the API commands start fast.
  .action(async (options: { workers?: string }) => (await import('./serve.js')).serve(options));

program
  .command('migrate')
  .description('apply the database migrations not applied yet (serve also does this at start)')
  .addHelpText('after', '\nUses FOTA_DATABASE_URL when set (PostgreSQL), otherwise FOTA_DATA_DIR (default ./data).')
  .action(async () => (await import('./migrate.js')).migrateCommand());

program
  .command('doctor')
  .description(
    'check what this configuration uses (database, data folder, S3 bucket, Redis) and say in words what is wrong',
  )
  .addHelpText(
    'after',
    '\nReads the FOTA_* variables as `fota serve` would: FOTA_DATA_DIR and FOTA_DATABASE_URL; the bucket when FOTA_S3_BUCKET is set; Redis when FOTA_REDIS_URL is set. Exit code 1 when a check finds a problem (a warning is not one).',
  )
  .option('--json', 'print one JSON document: {passed, checks: [{name, status, message, details?}]}, for scripts')
  .action(async (options: { json?: boolean }) => (await import('./doctor.js')).doctorCommand(options));

registerApiCommands(program);
registerAdminCommands(program);
registerSimulateCommand(program);
reportUsageErrors(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  if (error instanceof ConfigError) {
    process.stderr.write(`fota: ${error.message}\n`);
    process.exit(2);
  }
  // The contract client's failures, in the CLI's words.
  const cliError = cliErrorOf(error) as { cliMessage?: string; exitCode?: number };
  if (cliError.cliMessage !== undefined) {
    process.stderr.write(`fota: ${cliError.cliMessage}\n`);
    process.exit(cliError.exitCode ?? 1);
  }
  process.stderr.write(`fota: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
