/**
 * How the API client reads answers and words failures, in the browser and in Node alike: the API's
 * own error envelope, and what fetch says when no answer came.
 */

/** What a failure is when it is not the API's own error code. */
export type ClientErrorCode =
  /** No answer: the connection was refused, cut, or the host is unknown (`status` 0). */
  | 'unreachable'
  /** An error status without the API's `{"error":{code,message}}` envelope. */
  | 'http_error'
  /** A success status without JSON. */
  | 'not_json'
  /** An answer larger than any answer of this API. */
  | 'too_large'
  /** `/api/v1/events` answered without an event stream. */
  | 'not_event_stream'
  /** The file of an upload could not be read to its end (`status` 0). */
  | 'file_unreadable';

/** An answer of the API that is not a success, or no answer at all (`status` 0), in words. */
export class ApiError extends Error {
  /** How the client names the server (its base URL unless told otherwise), for messages. */
  readonly server: string;

  constructor(
    message: string,
    readonly status: number,
    /** The API's error code (`not_found`, `in_use`, …), or a `ClientErrorCode`. */
    readonly code: string,
    details: { readonly server?: string; readonly cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ApiError';
    this.server = details.server ?? '';
  }
}

/** The texts answers were parsed from, for a caller that shows an answer exactly as it came. */
const answerTexts = new WeakMap<object, string>();

/**
 * The JSON text the server sent for an answer this client returned (`fota … --json` prints it as
 * it came); undefined for anything else.
 */
export const answerText = (body: unknown): string | undefined =>
  typeof body === 'object' && body !== null ? answerTexts.get(body) : undefined;

/** An answer as the API defines it: JSON, and `{"error":{code,message}}` with an error status. */
export function readAnswer<T>(status: number, text: string, server = ''): T {
  if (status === 204) return undefined as T;
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status >= 400) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (typeof error?.code === 'string' && typeof error.message === 'string') {
      throw new ApiError(error.message, status, error.code, { server });
    }
    throw new ApiError(`the server answered HTTP ${status} without an explanation`, status, 'http_error', { server });
  }
  if (body === undefined) {
    throw new ApiError(`the server answered HTTP ${status} without JSON`, status, 'not_json', { server });
  }
  if (typeof body === 'object' && body !== null) answerTexts.set(body, text);
  return body as T;
}

/** An answer's text, or undefined once it grows past `limit` bytes (the rest is not read). */
export async function readText(response: Response, limit: number): Promise<string | undefined> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    text += decoder.decode(value, { stream: true });
  }
}

/** What fetch's failure was, below its "fetch failed": a system error code when there is one. */
export interface NetworkReason {
  /** `ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_SOCKET`, … */
  readonly code: string | undefined;
  /** In words: `connection refused`. */
  readonly text: string;
}

export function networkReason(error: unknown): NetworkReason {
  // fetch rejects with a TypeError whose cause is the socket's error (Node), or with no detail (browsers).
  let at: unknown = error;
  for (let depth = 0; depth < 4 && at !== null && typeof at === 'object'; depth++) {
    const { code, message } = at as { code?: unknown; message?: unknown };
    if (typeof code === 'string') return { code, text: reasonText(code, typeof message === 'string' ? message : code) };
    at = (at as { cause?: unknown }).cause;
  }
  const message = (error as { message?: unknown } | null)?.message;
  return { code: undefined, text: typeof message === 'string' ? message : String(error) };
}

function reasonText(code: string, message: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'the connection closed before the answer';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'the connection timed out';
    default:
      return message;
  }
}
