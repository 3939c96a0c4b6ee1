import { ApiError, HttpClient, networkReason } from '../contract/http-client.js';
import { packageVersion } from '../version.js';
import { CliError } from './cli-error.js';

/**
 * The CLI's side of the one API client (src/contract/http-client.ts): what `--url` and `--token`
 * give becomes a client with the bearer token, and the client's failures become CliErrors in the
 * CLI's words, with what to check (`--token`, `--url`, `fota serve`). The wording stays here, the
 * requests and answers in the contract.
 */

/** Where the management API is and how to authenticate: what `--url` and `--token` give. */
export interface ApiTarget {
  readonly url: string;
  readonly token: string | undefined;
}

/** A client of the server at `--url` with the token of `--token` (FOTA_URL, FOTA_TOKEN). */
export function connect(target: ApiTarget, agent = 'fota-cli'): HttpClient {
  const token = target.token?.trim() ?? '';
  if (token === '') {
    throw new CliError(
      'no administrator token: pass --token <token> or set FOTA_TOKEN (the server prints a generated token on its first start; FOTA_ADMIN_TOKEN on the server chooses one)',
    );
  }
  const base = parseBaseUrl(target.url);
  const client = new HttpClient(`${base.origin}${base.pathname}`, undefined, {
    // Messages name the server as the user wrote it.
    name: target.url,
    headers: { 'user-agent': `${agent}/${packageVersion}` },
    // A redirect is not an answer of the API: it is reported, not followed with the token.
    redirect: 'manual',
  });
  client.credentials = { kind: 'bearer', token };
  return client;
}

/** Any failure of a command in the CLI's words: an ApiError becomes a CliError, others stay. */
export function cliErrorOf(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  const label = error.server;
  const { status, code } = error;
  switch (code) {
    case 'unreachable':
      return unreachable(error, label);
    case 'http_error':
      return new CliError(
        `${label} answered HTTP ${status} without a fota error; is it the address of a fota server?`,
        1,
        status,
      );
    case 'not_json':
      return new CliError(`${label} answered HTTP ${status} without JSON; is it the address of a fota server?`);
    case 'too_large':
      return new CliError(`${label} sent an answer too large for the fota API`);
    case 'not_event_stream':
      return new CliError(`${label} did not answer /api/v1/events with an event stream; is it a fota server?`);
    default: {
      const hint = status === 401 ? '; check --token or FOTA_TOKEN' : '';
      return new CliError(`${error.message} (${code}, HTTP ${status})${hint}`, 1, status);
    }
  }
}

/** A connection problem, named with the URL and what to check. */
function unreachable(error: ApiError, label: string): CliError {
  const reason = networkReason(error.cause);
  switch (reason.code) {
    case 'ECONNREFUSED':
      return new CliError(
        `cannot connect to ${label}: connection refused; is the server running (fota serve)? Pass --url or set FOTA_URL`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError(`cannot connect to ${label}: host "${hostOf(label)}" not found`);
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return new CliError(`cannot connect to ${label}: ${reason.code}; check --url or FOTA_URL`);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return new CliError(`${label} closed the connection before answering`);
    default:
      return new CliError(`cannot talk to ${label}: ${reason.text}`);
  }
}

function hostOf(label: string): string {
  try {
    return new URL(label).hostname;
  } catch {
    return label;
  }
}

function parseBaseUrl(text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new CliError(`--url must be an http:// or https:// address such as http://localhost:8080, not "${text}"`);
  }
  return url;
}
