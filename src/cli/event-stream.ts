import { ApiError, networkReason, readEventStream, type HttpClient } from '../contract/http-client.js';

/**
 * The CLI's side of the server's event stream `GET /api/v1/events`, over the contract client:
 * opens it, hands each event to its handlers, and says in the CLI's words why it ended and whether
 * trying again can help. Reading the stream itself is the contract's (`readEventStream`).
 */

export interface EventHandlers {
  /** The server answered 200 with an event stream. */
  open(): void;
  /** An event, its data as the server sent it. */
  event(name: string, data: string): void;
  /** The stream ended; `fatal` when trying again cannot help (a refused token, not a fota server). */
  close(problem: { readonly message: string; readonly fatal: boolean }): void;
}

export interface EventStream {
  /** Ends the stream without calling `close`. */
  stop(): void;
}

/** The server writes a comment every 15 s: a stream silent much longer than that is dead. */
const STREAM_IDLE_MS = 45_000;

export function openEventStream(client: HttpClient, handlers: EventHandlers): EventStream {
  const abort = new AbortController();
  const label = client.name;
  const silent = `the event stream was silent for ${STREAM_IDLE_MS / 1000} s`;
  let closed = false;
  const close = (message: string, fatal = false) => {
    if (closed) return;
    closed = true;
    clearTimeout(opening);
    abort.abort();
    handlers.close({ message, fatal });
  };
  // Until the answer's headers come; then the contract watches the stream's silence.
  const opening = setTimeout(() => close(silent), STREAM_IDLE_MS);

  const follow = async () => {
    let response: Response;
    try {
      response = await client.openEvents(abort.signal);
    } catch (error) {
      if (!closed) close(...refusal(error, label));
      return;
    }
    clearTimeout(opening);
    if (closed) return;
    handlers.open();
    try {
      const end = await readEventStream(
        response,
        (name, data) => {
          if (!closed) handlers.event(name, data);
        },
        { idleMs: STREAM_IDLE_MS },
      );
      close(
        end === 'silent'
          ? silent
          : end === 'too_long'
            ? 'the event stream sent a line too long for an event'
            : 'the server closed the event stream',
      );
    } catch {
      close('the event stream was cut off');
    }
  };
  void follow();
  return {
    stop: () => {
      closed = true;
      clearTimeout(opening);
      abort.abort();
    },
  };
}

/** Why the stream was not opened, and whether trying again cannot help (an answer 4xx but 429). */
function refusal(error: unknown, label: string): [message: string, fatal: boolean] {
  if (!(error instanceof ApiError)) return [`event stream of ${label}: ${networkReason(error).text}`, false];
  const { status, code } = error;
  const fatal = status >= 400 && status < 500 && status !== 429;
  switch (code) {
    case 'unreachable':
      return [`event stream of ${label}: ${networkReason(error.cause).text}`, false];
    case 'not_event_stream':
      return [`${label} did not answer /api/v1/events with an event stream; is it a fota server?`, true];
    case 'http_error':
    case 'not_json':
    case 'too_large':
      return [`${label} answered HTTP ${status} to /api/v1/events`, fatal];
    default: {
      const hint = status === 401 ? '; check --token or FOTA_TOKEN' : '';
      return [`${error.message} (${code}, HTTP ${status})${hint}`, fatal];
    }
  }
}
