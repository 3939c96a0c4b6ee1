import type { Command } from 'commander';
import { webhookEvents } from '../contract/http-client.js';
import type { WebhookDeliveryBody, WebhookSubscriptionBody } from '../contract/schemas.js';
import { connect } from './api-connection.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import { JSON_HELP_DELETE, show, withApiOptions, type ApiOptions } from './command-options.js';
import { formatTime, printable, summary, table } from './output.js';

interface CreateOptions extends ApiOptions {
  readonly events: string;
  readonly description?: string;
  readonly disabled?: boolean;
}

interface UpdateOptions extends ApiOptions {
  /** `--url` is the server's, as for every command. */
  readonly hookUrl?: string;
  readonly events?: string;
  readonly description?: string;
  readonly enable?: boolean;
  readonly disable?: boolean;
}

interface DeliveriesOptions extends ApiOptions {
  readonly status?: 'pending' | 'delivered' | 'failed';
  readonly before?: string;
  readonly limit?: string;
}

const eventList = (text: string): string[] =>
  text
    .split(',')
    .map((event) => event.trim())
    .filter((event) => event !== '');

/** `fota webhooks list|create|get|update|delete|rotate-secret|ping|deliveries|redeliver` (admin only). */
export function registerWebhookCommands(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .alias('webhook')
    .description('subscribe URLs to events, read their delivery log, redeliver (admin only)')
    .addHelpText(
      'after',
      `
Events: ${webhookEvents.join(', ')}. Each delivery is a signed POST (Fota-Webhook-Signature:
v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>), retried with back-off until a 2xx;
see docs/integrations.md for the receiver's check.`,
    );

  withApiOptions(webhooks.command('list').description('list the subscriptions')).action(async (options: ApiOptions) => {
    const answer = await connect(options).webhooks();
    show(options, answer, (list) =>
      list.length === 0
        ? 'No webhooks yet. Create one with: fota webhooks create <url> --events firmware.uploaded\n'
        : table(
            ['WEBHOOK ID', 'URL', 'EVENTS', 'ENABLED', 'CREATED'],
            list.map((hook) => [
              hook.webhookId,
              printable(hook.url),
              hook.events.join(','),
              hook.enabled ? 'yes' : 'no',
              formatTime(hook.createdAt),
            ]),
          ),
    );
  });

  withApiOptions(
    webhooks
      .command('create')
      .description('subscribe a URL to events and print its signing secret, the only time it is shown')
      .argument('<url>', 'http:// or https:// URL the deliveries are POSTed to')
      .requiredOption('--events <events>', `events separated by commas: ${webhookEvents.join(', ')}`)
      .option('--description <text>', 'what it is for')
      .option('--disabled', 'create it disabled (no deliveries until enabled)'),
  )
    .addHelpText(
      'after',
      `
Example:
  $ fota webhooks create https://ci.example.com/fota --events firmware.uploaded,device.failed`,
    )
    .action(async (url: string, options: CreateOptions) => {
      const answer = await connect(options).createWebhook({
        url,
        events: eventList(options.events),
        ...(options.description === undefined ? {} : { description: options.description }),
        ...(options.disabled ? { enabled: false } : {}),
      });
      show(
        options,
        answer,
        (hook) =>
          `Created webhook ${hook.webhookId}\n${describe(hook)}Secret: ${hook.secret}\nIt is shown only this once: keep it now.\n`,
      );
    });

  withApiOptions(
    webhooks.command('get').description('show a subscription').argument('<webhookId>', 'as `fota webhooks list` shows'),
  ).action(async (webhookId: string, options: ApiOptions) => {
    const answer = await connect(options).webhook(webhookId);
    show(options, answer, describe);
  });

  withApiOptions(
    webhooks
      .command('update')
      .description("change a subscription's URL, events, description, or enable or disable it")
      .argument('<webhookId>', 'as `fota webhooks list` shows')
      .option('--hook-url <url>', 'the new URL deliveries are posted to (--url names the fota server)')
      .option('--events <events>', 'the new events, separated by commas')
      .option('--description <text>', 'the new description')
      .option('--enable', 'deliver again')
      .option('--disable', 'write no new deliveries; pending ones wait'),
  ).action(async (webhookId: string, options: UpdateOptions) => {
    if (options.enable && options.disable) throw new CliError('pass --enable or --disable, not both', USAGE_EXIT_CODE);
    const patch = {
      ...(options.hookUrl === undefined ? {} : { url: options.hookUrl }),
      ...(options.events === undefined ? {} : { events: eventList(options.events) }),
      ...(options.description === undefined ? {} : { description: options.description }),
      ...(options.enable ? { enabled: true } : options.disable ? { enabled: false } : {}),
    };
    if (Object.keys(patch).length === 0) {
      throw new CliError(
        'nothing to change: pass --hook-url, --events, --description, --enable or --disable',
        USAGE_EXIT_CODE,
      );
    }
    const answer = await connect(options).editWebhook(webhookId, patch);
    show(options, answer, (hook) => `Changed webhook ${hook.webhookId}\n${describe(hook)}`);
  });

  withApiOptions(
    webhooks
      .command('delete')
      .description('delete a subscription with its deliveries, pending ones included')
      .argument('<webhookId>', 'as `fota webhooks list` shows'),
    JSON_HELP_DELETE,
  ).action(async (webhookId: string, options: ApiOptions) => {
    const answer = await connect(options).deleteWebhook(webhookId);
    show(options, answer, () => `Deleted webhook ${webhookId}\n`);
  });

  withApiOptions(
    webhooks
      .command('rotate-secret')
      .description('give a subscription a new signing secret and print it, the only time it is shown')
      .argument('<webhookId>', 'as `fota webhooks list` shows'),
  ).action(async (webhookId: string, options: ApiOptions) => {
    const answer = await connect(options).rotateWebhookSecret(webhookId);
    show(
      options,
      answer,
      (hook) => `New secret of webhook ${hook.webhookId}: ${hook.secret}\nIt is shown only this once.\n`,
    );
  });

  withApiOptions(
    webhooks
      .command('ping')
      .description('queue a test ping to a subscription; its try shows in `fota webhooks deliveries`')
      .argument('<webhookId>', 'as `fota webhooks list` shows'),
  ).action(async (webhookId: string, options: ApiOptions) => {
    const answer = await connect(options).pingWebhook(webhookId);
    show(options, answer, (delivery) => `Queued ping ${delivery.deliveryId}\n`);
  });

  withApiOptions(
    webhooks
      .command('deliveries')
      .description("a subscription's deliveries, newest first, with every attempt")
      .argument('<webhookId>', 'as `fota webhooks list` shows')
      .option('--status <status>', 'only pending, delivered or failed ones')
      .option('--before <deliveryId>', 'the page of deliveries older than this one')
      .option('--limit <n>', 'how many, 1 to 100 (default 20)'),
  ).action(async (webhookId: string, options: DeliveriesOptions) => {
    const answer = await connect(options).webhookDeliveries(webhookId, {
      ...(options.status === undefined ? {} : { status: options.status }),
      ...(options.before === undefined ? {} : { before: options.before }),
      ...(options.limit === undefined ? {} : { limit: Number(options.limit) }),
    });
    show(options, answer, (page) =>
      page.deliveries.length === 0
        ? 'No deliveries.\n'
        : page.deliveries.map(describeDelivery).join('\n') +
          (page.nextCursor === null ? '' : `\nOlder: --before ${page.nextCursor}\n`),
    );
  });

  withApiOptions(
    webhooks
      .command('delivery')
      .description('one delivery with every attempt and its body')
      .argument('<webhookId>', 'as `fota webhooks list` shows')
      .argument('<deliveryId>', 'as `fota webhooks deliveries` shows'),
  ).action(async (webhookId: string, deliveryId: string, options: ApiOptions) => {
    const answer = await connect(options).webhookDelivery(webhookId, deliveryId);
    show(options, answer, (delivery) => `${describeDelivery(delivery)}body: ${printable(delivery.body)}\n`);
  });

  withApiOptions(
    webhooks
      .command('redeliver')
      .description('send a delivery again, with the same delivery id and body')
      .argument('<webhookId>', 'as `fota webhooks list` shows')
      .argument('<deliveryId>', 'as `fota webhooks deliveries` shows'),
  ).action(async (webhookId: string, deliveryId: string, options: ApiOptions) => {
    const answer = await connect(options).redeliverWebhook(webhookId, deliveryId);
    show(options, answer, (delivery) => `Redelivering ${delivery.deliveryId}\n`);
  });
}

function describe(hook: WebhookSubscriptionBody): string {
  return summary([
    ['webhookId', hook.webhookId],
    ['url', printable(hook.url)],
    ['events', hook.events.join(', ')],
    ['enabled', hook.enabled ? 'yes' : 'no'],
    ['description', printable(hook.description)],
    ['created', `${formatTime(hook.createdAt)} by ${hook.createdBy}`],
  ]);
}

function describeDelivery(delivery: WebhookDeliveryBody): string {
  const head = `${delivery.deliveryId}  ${delivery.event}  ${delivery.status}  ${formatTime(delivery.createdAt)}`;
  const next = delivery.nextAttemptAt === null ? '' : `  next try ${formatTime(delivery.nextAttemptAt)}`;
  const attempts = delivery.attempts.map(
    (attempt) =>
      `  #${attempt.attempt} ${formatTime(attempt.at)} ${attempt.durationMs} ms ${
        attempt.httpStatus === null ? '' : `HTTP ${attempt.httpStatus} `
      }${printable(attempt.error ?? 'ok')}`,
  );
  return [head + next, ...attempts].join('\n') + '\n';
}
