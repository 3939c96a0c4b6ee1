import { Option, type Command } from 'commander';
import { roles, type Role } from '../contract/http-client.js';
import type { UserBody } from '../contract/schemas.js';
import { connect } from './api-connection.js';
import { CliError, USAGE_EXIT_CODE } from './cli-error.js';
import { JSON_HELP_DELETE, show, withApiOptions, type ApiOptions } from './command-options.js';
import { formatTime, summary, table } from './output.js';

interface UserCreateOptions extends ApiOptions {
  readonly role: Role;
  readonly passwordStdin?: boolean;
}

interface TokenCreateOptions extends ApiOptions {
  readonly role: Role;
}

const roleOption = (description: string) =>
  new Option('--role <role>', description).choices([...roles].reverse()).makeOptionMandatory();

/** `fota users create|list|delete` and `fota tokens create|list|revoke`. */
export function registerUserCommands(program: Command): void {
  const users = program
    .command('users')
    .alias('user')
    .description('create, list and delete the people who sign in to the console (admin only)')
    .addHelpText(
      'after',
      `
Roles: admin (everything, users and every token), developer (prototypes, devices, firmware,
pushes), viewer (reads everything but device keys). The first admin: create one with the
administrator token (FOTA_TOKEN), or sign in to the console with that token once.`,
    );

  withApiOptions(
    users
      .command('create')
      .description('create a user; the password is read from standard input or FOTA_USER_PASSWORD, never an argument')
      .argument('<email>', 'the email the user signs in with (kept in lowercase)')
      .addOption(roleOption('what the user may do'))
      .option('--password-stdin', 'read the password (10 characters or more) from standard input'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ printf '%s' "$PASSWORD" | fota users create ada@example.com --role admin --password-stdin
  $ FOTA_USER_PASSWORD="$PASSWORD" fota users create bob@example.com --role viewer`,
    )
    .action(async (email: string, options: UserCreateOptions) => {
      const password = options.passwordStdin ? await readStdin() : process.env['FOTA_USER_PASSWORD'];
      if (password === undefined || password === '') {
        throw new CliError(
          'no password: pass --password-stdin and write it to standard input, or set FOTA_USER_PASSWORD',
          USAGE_EXIT_CODE,
        );
      }
      const answer = await connect(options).createUser({ email, password, role: options.role });
      show(options, answer, (user) => `Created user ${user.userId}\n${describeUser(user)}`);
    });

  withApiOptions(users.command('list').description('list the users, oldest first')).action(
    async (options: ApiOptions) => {
      const answer = await connect(options).users();
      show(options, answer, (list) =>
        list.length === 0
          ? 'No users yet. Create one with: fota users create <email> --role admin --password-stdin\n'
          : table(
              ['USER ID', 'EMAIL', 'ROLE', 'CREATED'],
              list.map((user) => [user.userId, user.email, user.role, formatTime(user.createdAt)]),
            ),
      );
    },
  );

  withApiOptions(
    users
      .command('edit')
      .description("change a user's role, or their password (read from standard input or FOTA_USER_PASSWORD)")
      .argument('<userId>', 'the user, as `fota users list` shows')
      .addOption(new Option('--role <role>', 'the new role').choices([...roles].reverse()))
      .option('--password-stdin', 'read the new password from standard input; their other sessions end'),
  ).action(async (userId: string, options: Omit<UserCreateOptions, 'role'> & { readonly role?: Role }) => {
    const password = options.passwordStdin ? await readStdin() : undefined;
    if (options.role === undefined && password === undefined) {
      throw new CliError(
        'nothing to change: pass --role or --password-stdin; run fota users edit --help',
        USAGE_EXIT_CODE,
      );
    }
    const answer = await connect(options).updateUser(userId, {
      ...(options.role === undefined ? {} : { role: options.role }),
      ...(password === undefined ? {} : { password }),
    });
    show(options, answer, (user) => `Changed user ${user.userId}\n${describeUser(user)}`);
  });

  withApiOptions(
    users
      .command('delete')
      .description('delete a user; their sessions and API tokens stop working at once')
      .argument('<userId>', 'the user, as `fota users list` shows'),
    JSON_HELP_DELETE,
  ).action(async (userId: string, options: ApiOptions) => {
    const answer = await connect(options).deleteUser(userId);
    show(options, answer, () => `Deleted user ${userId}\n`);
  });

  const tokens = program
    .command('tokens')
    .alias('token')
    .description('create, list and revoke API tokens: each acts with a role no higher than its creator')
    .addHelpText(
      'after',
      `
A token is shown once, when created, and stored hashed; send it as FOTA_TOKEN or
Authorization: Bearer <token>.`,
    );

  withApiOptions(
    tokens
      .command('create')
      .description('create an API token and print it, the only time it is shown')
      .argument('<name>', 'what the token is for, 1 to 100 characters')
      .addOption(roleOption('what the token may do; no higher than your own role')),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ fota tokens create "CI uploads" --role developer
  $ CI_TOKEN=$(fota tokens create ci --role developer --json | jq -r .token)`,
    )
    .action(async (name: string, options: TokenCreateOptions) => {
      const answer = await connect(options).createToken({ name, role: options.role });
      show(
        options,
        answer,
        (token) =>
          `Created token ${token.tokenId} (${token.role}): ${token.token}\nIt is shown only this once: keep it now.\n`,
      );
    });

  withApiOptions(tokens.command('list').description('list your API tokens (an admin: every token)')).action(
    async (options: ApiOptions) => {
      const answer = await connect(options).tokens();
      show(options, answer, (list) =>
        list.length === 0
          ? 'No API tokens yet. Create one with: fota tokens create <name> --role viewer\n'
          : table(
              ['TOKEN ID', 'NAME', 'ROLE', 'CREATED', 'LAST USED'],
              list.map((token) => [
                token.tokenId,
                token.name,
                token.role,
                formatTime(token.createdAt),
                token.lastUsedAt === null ? 'never' : formatTime(token.lastUsedAt),
              ]),
            ),
      );
    },
  );

  withApiOptions(
    tokens
      .command('revoke')
      .description('revoke an API token; it stops working at once')
      .argument('<tokenId>', 'the token, as `fota tokens list` shows'),
    JSON_HELP_DELETE,
  ).action(async (tokenId: string, options: ApiOptions) => {
    const answer = await connect(options).revokeToken(tokenId);
    show(options, answer, () => `Revoked token ${tokenId}\n`);
  });
}

function describeUser(user: UserBody): string {
  return summary([
    ['userId', user.userId],
    ['email', user.email],
    ['role', user.role],
    ['created', formatTime(user.createdAt)],
  ]);
}

/** Standard input to its end, without one trailing newline (what `echo` adds). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}
