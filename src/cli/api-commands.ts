import type { Command } from 'commander';
import { registerAuditCommands } from './audit-commands.js';
import { registerDeviceCommands } from './device-commands.js';
import { registerFirmwareCommands } from './firmware-commands.js';
import { registerPrototypeCommands } from './prototype-commands.js';
import { registerPushCommand } from './push-command.js';
import { registerPushesCommands } from './pushes-commands.js';
import { registerServerCommands } from './server-commands.js';
import { registerSigningCommands } from './signing-commands.js';
import { registerUserCommands } from './user-commands.js';
import { registerWebhookCommands } from './webhook-commands.js';

/**
 * Commands over the management API (prototypes, devices, firmware, pushes, the server, users and tokens): each is
 * one HTTP call, or the event stream, with `--url`, `--token` and `--json`.
 */
export function registerApiCommands(program: Command): void {
  registerPrototypeCommands(program);
  registerDeviceCommands(program);
  registerFirmwareCommands(program);
  registerPushCommand(program);
  registerPushesCommands(program);
  registerServerCommands(program);
  registerUserCommands(program);
  registerAuditCommands(program);
  registerSigningCommands(program);
  registerWebhookCommands(program);
}
