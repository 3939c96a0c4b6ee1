import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { packageVersion } from '../version.js';

/**
 * A client of the server's Server-Sent Events stream `GET /api/v1/events`: opens it with the token,
 * hands each event to its handlers, and says why it ended.
 */

export interface EventStreamTarget {
  readonly url: URL;
  /** The base URL as the user wrote it, for messages. */
  readonly label: string;
  readonly token: string;
}

export interface EventHandlers {
  /** The server answered 200 with an event stream. */
  open(): void;
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
const MAX_EVENT_CHARS = 1024 * 1024;

/** Where the event stream is; `options` were checked by ApiClient.connect. */
export function eventStreamOf(options: {
  readonly url: string;
  readonly token?: string | undefined;
}): EventStreamTarget {
  const base = new URL(options.url);
  return {
    url: new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/events`, base),
    label: options.url,
    token: options.token?.trim() ?? '',
  };
}

export function openEventStream(target: EventStreamTarget, handlers: EventHandlers): EventStream {
  const request = (target.url.protocol === 'https:' ? httpsRequest : httpRequest)(target.url, {
    headers: {
      accept: 'text/event-stream',
      authorization: `Bearer ${target.token}`,
      'user-agent': `fota-cli/${packageVersion}`,
    },
  });
  let closed = false;
  const close = (message: string, fatal = false) => {
    if (closed) return;
    closed = true;
    request.destroy();
    handlers.close({ message, fatal });
  };
  request.setTimeout(STREAM_IDLE_MS, () => close(`the event stream was silent for ${STREAM_IDLE_MS / 1000} s`));
  request.on('error', (error) => close(`event stream of ${target.label}: ${error.message}`));
  request.on('response', (response) => {
    const status = response.statusCode ?? 0;
    if (status !== 200) {
      readRefusal(response, target, (message) => close(message, status >= 400 && status < 500 && status !== 429));
      return;
    }
    if (!String(response.headers['content-type']).startsWith('text/event-stream')) {
      response.resume();
      close(`${target.label} did not answer /api/v1/events with an event stream; is it a fota server?`, true);
      return;
    }
    handlers.open();
    const parser = new EventStreamParser(handlers.event);
    response.setEncoding('utf8');
    response.on('data', (text: string) => {
      if (!parser.push(text)) close('the event stream sent a line too long for an event');
    });
    response.on('error', (error) =>
      close(error.message === 'aborted' ? 'the event stream was cut off' : `event stream: ${error.message}`),
    );
    response.on('end', () => close('the server closed the event stream'));
  });
  request.end();
  return {
    stop: () => {
      closed = true;
      request.destroy();
    },
  };
}

/** The message of an error answer to the event stream request. */
function readRefusal(response: IncomingMessage, target: EventStreamTarget, done: (message: string) => void): void {
  const status = response.statusCode ?? 0;
  let text = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    if (text.length < 64 * 1024) text += chunk;
  });
  response.on('error', () => done(`${target.label} answered HTTP ${status} to /api/v1/events`));
  response.on('end', () => {
    let error: { code?: unknown; message?: unknown } | undefined;
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error;
    } catch {
      error = undefined;
    }
    if (typeof error?.code === 'string' && typeof error.message === 'string') {
      const hint = status === 401 ? '; check --token or FOTA_TOKEN' : '';
      done(`${error.message} (${error.code}, HTTP ${status})${hint}`);
    } else {
      done(`${target.label} answered HTTP ${status} to /api/v1/events`);
    }
  });
}

/** Server-Sent Events: `event:` and `data:` lines, a blank line ends an event, `:` starts a comment. */
export class EventStreamParser {
  private buffer = '';
  private name = '';
  private data: string[] = [];

  constructor(private readonly emit: (name: string, data: string) => void) {}

  /** Takes more of the stream; false when a line grows beyond any event's size. */
  push(text: string): boolean {
    this.buffer += text;
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end < 0) break;
      // A carriage return at the very end may be the first half of \r\n.
      if (this.buffer[end] === '\r' && end === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      this.line(line);
    }
    return this.buffer.length <= MAX_EVENT_CHARS;
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.emit(this.name || 'message', this.data.join('\n'));
      this.name = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.name = value;
    else if (field === 'data') this.data.push(value);
  }
}
