import { request as httpRequest, type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { packageVersion } from '../version.js';
import { CliError, isCliError } from './cli-error.js';

/** Where the management API is and how to authenticate: what `--url` and `--token` give. */
export interface ApiTarget {
  readonly url: string;
  readonly token: string | undefined;
}

/** A successful answer: the parsed body, and its text exactly as the server sent it (for `--json`). */
export interface ApiAnswer<T> {
  readonly status: number;
  readonly text: string;
  readonly body: T;
}

/** Writes the request body and ends the request; it may destroy the request with a CliError. */
export type BodyWriter = (request: ClientRequest) => void;

/** Answers of the management API are small JSON documents; anything larger is not one. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * A client of the management API (`/api/v1` under the base URL) over node:http and node:https.
 * Every failure, from a refused connection to an API error envelope, becomes a CliError.
 */
export class ApiClient {
  private constructor(
    private readonly base: URL,
    /** The base URL as the user wrote it, for messages. */
    private readonly label: string,
    private readonly token: string,
  ) {}

  static connect(target: ApiTarget): ApiClient {
    const token = target.token?.trim() ?? '';
    if (token === '') {
      throw new CliError(
        'no administrator token: pass --token <token> or set FOTA_TOKEN (the server prints a generated token on its first start; FOTA_ADMIN_TOKEN on the server chooses one)',
      );
    }
    return new ApiClient(parseBaseUrl(target.url), target.url, token);
  }

  get<T>(path: string): Promise<ApiAnswer<T>> {
    return this.send<T>('GET', path, {}, (request) => request.end());
  }

  post<T>(path: string, body?: unknown): Promise<ApiAnswer<T>> {
    return this.sendJson<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<ApiAnswer<T>> {
    return this.sendJson<T>('PATCH', path, body);
  }

  /** A DELETE: the API answers 204 without a body, so `text` is empty and `body` undefined. */
  delete(path: string): Promise<ApiAnswer<undefined>> {
    return this.send<undefined>('DELETE', path, {}, (request) => request.end());
  }

  /** A JSON body, or none at all (a POST that takes no input, such as a key rotation). */
  private sendJson<T>(method: string, path: string, body: unknown): Promise<ApiAnswer<T>> {
    if (body === undefined) return this.send<T>(method, path, { 'content-length': 0 }, (request) => request.end());
    const json = Buffer.from(JSON.stringify(body));
    return this.send<T>(
      method,
      path,
      { 'content-type': 'application/json', 'content-length': json.length },
      (request) => request.end(json),
    );
  }

  /**
   * One request: `writeBody` writes and ends the body. As soon as a whole answer is in, the
   * exchange is over: an error answer that comes early (a refused token during an upload) stops
   * the rest of the body from being sent.
   */
  send<T>(method: string, path: string, headers: OutgoingHttpHeaders, writeBody: BodyWriter): Promise<ApiAnswer<T>> {
    const url = new URL(`${this.base.pathname.replace(/\/+$/, '')}/api/v1${path}`, this.base);
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method,
      headers: {
        ...headers,
        accept: 'application/json',
        authorization: `Bearer ${this.token}`,
        'user-agent': `fota-cli/${packageVersion}`,
      },
    });
    return new Promise<ApiAnswer<T>>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        request.destroy();
        reject(isCliError(error) ? error : this.unreachable(error));
      };
      // Errors after the answer (the server closing while the body was still being sent) change nothing.
      request.on('error', fail);
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) fail(new CliError(`${this.label} sent an answer too large for the fota API`));
          else chunks.push(chunk);
        });
        response.on('error', fail);
        response.on('end', () => {
          if (settled) return;
          settled = true;
          if (!request.writableFinished) request.destroy();
          try {
            resolve(this.read<T>(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error);
          }
        });
      });
      writeBody(request);
    });
  }

  /** An answer as the API defines it: JSON, and `{"error":{code,message}}` with an error status. */
  private read<T>(status: number, text: string): ApiAnswer<T> {
    if (status === 204) return { status, text: '', body: undefined as T };
    let body: unknown;
    let isJson = true;
    try {
      body = JSON.parse(text);
    } catch {
      isJson = false;
    }
    if (status >= 400) {
      const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      if (typeof error?.code === 'string' && typeof error.message === 'string') {
        const hint = status === 401 ? '; check --token or FOTA_TOKEN' : '';
        throw new CliError(`${error.message} (${error.code}, HTTP ${status})${hint}`, 1, status);
      }
      throw new CliError(
        `${this.label} answered HTTP ${status} without a fota error; is it the address of a fota server?`,
        1,
        status,
      );
    }
    if (!isJson) {
      throw new CliError(`${this.label} answered HTTP ${status} without JSON; is it the address of a fota server?`);
    }
    return { status, text, body: body as T };
  }

  /** A connection problem, named with the URL and what to check. */
  private unreachable(error: unknown): CliError {
    const { code, message } = error as { code?: unknown; message?: unknown };
    switch (code) {
      case 'ECONNREFUSED':
        return new CliError(
          `cannot connect to ${this.label}: connection refused; is the server running (fota serve)? Pass --url or set FOTA_URL`,
        );
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new CliError(`cannot connect to ${this.label}: host "${this.base.hostname}" not found`);
      case 'ETIMEDOUT':
      case 'ENETUNREACH':
      case 'EHOSTUNREACH':
        return new CliError(`cannot connect to ${this.label}: ${String(code)}; check --url or FOTA_URL`);
      case 'ECONNRESET':
      case 'EPIPE':
        return new CliError(`${this.label} closed the connection before answering`);
      default:
        return new CliError(`cannot talk to ${this.label}: ${String(message ?? error)}`);
    }
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
