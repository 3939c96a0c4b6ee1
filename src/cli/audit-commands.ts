import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Option, type Command } from 'commander';
import type { AuditEntryBody, AuditFiltersBody } from '../contract/schemas.js';
import { connect } from './api-connection.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import { show, withApiOptions, type ApiOptions } from './command-options.js';
import { formatTime, table } from './output.js';

interface FilterOptions extends ApiOptions {
  readonly actor?: string;
  readonly kind?: string;
  readonly since?: string;
  readonly until?: string;
}

interface ListOptions extends FilterOptions {
  readonly limit?: string;
  readonly cursor?: string;
}

interface ExportOptions extends FilterOptions {
  readonly format: 'csv' | 'json';
  readonly output?: string;
}

function withFilters(command: Command): Command {
  return command
    .option('--actor <who>', 'an email, admin, a user id or an API token id')
    .option('--kind <kind>', 'one kind of action, such as push.create or session.sign-in')
    .option('--since <time>', 'from this time (ISO 8601, such as 2026-12-01 or 2026-12-01T10:00:00Z)')
    .option('--until <time>', 'before this time (ISO 8601)');
}

/** A time as the API takes it; a usage error for what is none. */
function isoTime(name: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) {
    throw new CliError(
      `--${name} must be a date and time such as 2026-12-01T10:00:00Z, not "${text}"`,
      USAGE_EXIT_CODE,
    );
  }
  return time.toISOString();
}

const filtersOf = (options: FilterOptions): AuditFiltersBody => ({
  ...(options.actor ? { actor: options.actor } : {}),
  ...(options.kind ? { kind: options.kind } : {}),
  ...(options.since ? { since: isoTime('since', options.since) } : {}),
  ...(options.until ? { until: isoTime('until', options.until) } : {}),
});

const actorText = (entry: AuditEntryBody): string => {
  const { actor } = entry;
  if (actor.type === 'anonymous') return '(anonymous)';
  const who = actor.name ?? actor.userId ?? actor.type;
  return actor.type === 'token' ? `${who} (token ${actor.tokenName ?? actor.tokenId})` : who;
};

const resultText = (entry: AuditEntryBody): string =>
  entry.result.outcome === 'success'
    ? `ok ${entry.result.status}`
    : `${entry.result.status} ${entry.result.code ?? ''}`;

/** `fota audit list|export`: the log of management actions (admin only). */
export function registerAuditCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description('read and export the log of management actions: who did what, when, from where (admin only)');

  withApiOptions(
    withFilters(
      audit
        .command('list')
        .description('a page of the audit log, newest first')
        .option('--limit <n>', 'entries on the page, 1 to 500', '50')
        .option('--cursor <cursor>', 'the page after the one that printed this cursor'),
    ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota audit list --actor ada@example.com --since 2026-12-01
  $ fota audit list --kind session.sign-in --json`,
    )
    .action(async (options: ListOptions) => {
      const limit = Number(options.limit ?? '50');
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        throw new CliError(`--limit must be a whole number from 1 to 500, not "${options.limit}"`, USAGE_EXIT_CODE);
      }
      const answer = await connect(options).audit({
        ...filtersOf(options),
        limit,
        ...(options.cursor ? { cursor: options.cursor } : {}),
      });
      show(options, answer, (page) => {
        if (page.entries.length === 0) return 'No entries.\n';
        const rows = table(
          ['TIME', 'ACTOR', 'ADDRESS', 'KIND', 'TARGET', 'RESULT'],
          page.entries.map((entry) => [
            formatTime(entry.at),
            actorText(entry),
            entry.address,
            entry.kind,
            entry.target ? `${entry.target.type} ${entry.target.id}` : '',
            resultText(entry),
          ]),
        );
        return page.nextCursor === null ? rows : `${rows}More: fota audit list --cursor ${page.nextCursor}\n`;
      });
    });

  withApiOptions(
    withFilters(
      audit
        .command('export')
        .description('every entry that matches, newest first, as CSV or JSON, to standard output or a file')
        .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
        .option('--output <file>', 'write to this file instead of standard output'),
    ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota audit export --since 2026-11-01 --output audit-november.csv
  $ fota audit export --format json --kind push.create | jq length`,
    )
    .action(async (options: ExportOptions) => {
      const response = await connect(options).openAuditExport(options.format, filtersOf(options));
      if (!response.body) return;
      const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      await pipeline(body, options.output ? createWriteStream(options.output) : process.stdout);
    });
}
