import { configVariables } from '../config/index.js';

const nameWidth = Math.max(...configVariables.map(([name]) => name.length));

/** The settings `fota serve --help` lists: the same table as the README's. */
export const serveHelp = `Environment variables (defaults in brackets):
${configVariables.map(([name, fallback, meaning]) => `  ${name.padEnd(nameWidth)} ${meaning} [${fallback}]`).join('\n')}`;
