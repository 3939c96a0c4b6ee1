import type { Command } from 'commander';

/** `fota admin …`: maintenance run on the server machine, on its data folder, with the server stopped. */
export function registerAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description('maintenance on the server machine, on its data folder (FOTA_DATA_DIR), with the server stopped');
  admin
    .command('reset-token')
    .description('replace the administrator token: prints a new one once; the old one stops working')
    .addHelpText(
      'after',
      `
The way back when the token a first start printed is lost. Run it where the server runs, with the
same FOTA_DATA_DIR (default ./data), while the server is stopped (it refuses otherwise), then start
the server again. A server started with FOTA_ADMIN_TOKEN uses that token and ignores the stored one.

Example:
  FOTA_DATA_DIR=/var/lib/fota fota admin reset-token`,
    )
    .action(async () => (await import('./reset-token.js')).resetToken());
}
