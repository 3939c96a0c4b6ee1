/**
 * Reading the server's Server-Sent Events (`GET /api/v1/events`) from a fetch answer, in the
 * browser and in Node: the console, `fota events` and `fota push --wait` read it here.
 */

/** The largest event (or line) read; the server's events are a few hundred bytes. */
export const MAX_EVENT_CHARS = 1024 * 1024;

/** One event of the stream: its name, its data parsed, and its data as the server sent it. */
export interface StreamEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly text: string;
}

/** Why a stream stopped being read, short of an error while reading it. */
export type StreamEnd =
  /** The server ended the answer. */
  | 'closed'
  /** Nothing came for `idleMs` (the server writes a comment every 15 s). */
  | 'silent'
  /** A line grew past `MAX_EVENT_CHARS`. */
  | 'too_long';

export interface ReadOptions {
  /** Stop reading once nothing came for this long; by default the stream may stay silent. */
  readonly idleMs?: number;
}

/**
 * Hands every event of the answer to `onEvent` (its name and data text) until the stream ends, and
 * says why it ended. Rejects when reading fails (the connection cut, the request aborted).
 */
export async function readEventStream(
  response: Response,
  onEvent: (name: string, data: string) => void,
  options: ReadOptions = {},
): Promise<StreamEnd> {
  if (response.body === null) return 'closed';
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new EventStreamParser(onEvent);
  let silent = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wait = () => {
    if (options.idleMs === undefined) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      silent = true;
      reader.cancel().catch(() => undefined);
    }, options.idleMs);
  };
  try {
    wait();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return silent ? 'silent' : 'closed';
      wait();
      if (!parser.push(value)) {
        await reader.cancel().catch(() => undefined);
        return 'too_long';
      }
    }
  } catch (error) {
    if (silent) return 'silent';
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the events of the stream whose data is a JSON object, until it ends. */
export async function readEvents(response: Response, onEvent: (event: StreamEvent) => void): Promise<void> {
  await readEventStream(response, (type, text) => {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return; // not JSON: not an event of this API
    }
    if (typeof data === 'object' && data !== null) onEvent({ type, data: data as Record<string, unknown>, text });
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
