import type { Command } from 'commander';

/** Commands over the management API (prototypes, devices, firmware). */
export function registerApiCommands(_program: Command): void {}
