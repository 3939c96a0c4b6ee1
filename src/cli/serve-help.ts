import { configVariables } from '../config.js';

/** The settings `fota serve --help` lists: the same table as the README's. */
export const serveHelp = `Environment variables (defaults in brackets):
${configVariables.map(([name, fallback, meaning]) => `  ${name.padEnd(28)} ${meaning} [${fallback}]`).join('\n')}`;
