/**
 * A multipart/form-data body of known length whose one file part is streamed, never held whole in
 * memory: the text fields first, then the file. Built on web streams, so the same code uploads from
 * a browser's File and from a file on disk in Node.
 */

/** Where the file's bytes come from: a Blob (a browser's File), or a stream of known size (Node). */
export interface FileSource {
  readonly size: number;
  stream(): ReadableStream<Uint8Array>;
}

export interface FilePart {
  readonly field: string;
  /** The file name the server is told. */
  readonly fileName: string;
  readonly source: FileSource;
}

/** The file did not give the bytes it promised: it could not be read, or its size changed. */
export class FileSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FileSourceError';
  }
}

export class MultipartBody {
  readonly contentType: string;
  readonly contentLength: number;
  private readonly head: Uint8Array<ArrayBuffer>;
  private readonly tail: Uint8Array<ArrayBuffer>;

  constructor(
    fields: ReadonlyArray<readonly [name: string, value: string]>,
    private readonly file: FilePart,
  ) {
    const random = crypto.getRandomValues(new Uint8Array(16));
    const boundary = `----fota-${Array.from(random, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
    const encoder = new TextEncoder();
    const fieldParts = fields.map(
      ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`,
    );
    this.head = encoder.encode(
      fieldParts.join('') +
        `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(file.field)}"; filename="${quoted(file.fileName)}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
    this.tail = encoder.encode(`\r\n--${boundary}--\r\n`);
    this.contentType = `multipart/form-data; boundary=${boundary}`;
    this.contentLength = this.head.byteLength + file.source.size + this.tail.byteLength;
  }

  /** The body as one Blob, for a fetch that cannot stream a request; the file must be a Blob. */
  blob(): Blob {
    const source = this.file.source;
    if (!(source instanceof Blob)) throw new TypeError('this fetch cannot stream a request: pass the file as a Blob');
    return new Blob([this.head, source, this.tail]);
  }

  /**
   * The body as a stream read as it is sent. `onFileBytes` hears how many bytes of the file went so
   * far. A file that fails, or gives more or fewer bytes than its size, errors the stream with a
   * FileSourceError; `stop()` ends it early with an error (the answer came before the end).
   */
  stream(onFileBytes: (sent: number) => void): { readonly body: ReadableStream<Uint8Array>; stop(): void } {
    const { head, tail, file } = this;
    const size = file.source.size;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let stage: 'head' | 'file' | 'tail' | 'done' = 'head';
    let sent = 0;
    let stopped = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (stopped) throw new Error('the upload stopped: the server answered');
        if (stage === 'head') {
          controller.enqueue(head);
          stage = size > 0 ? 'file' : 'tail';
          return;
        }
        if (stage === 'file') {
          let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
          try {
            reader ??= file.source.stream().getReader();
            chunk = await reader.read();
          } catch (error) {
            throw new FileSourceError(`the file could not be read: ${(error as Error).message}`, { cause: error });
          }
          if (chunk.done) {
            if (sent !== size) throw new FileSourceError(`the file got shorter while it was being sent`);
            // Every pull gives something: a pull that gives nothing is not called again.
            controller.enqueue(tail);
            stage = 'done';
            return;
          }
          sent += chunk.value.byteLength;
          if (sent > size) throw new FileSourceError('the file grew while it was being sent');
          controller.enqueue(chunk.value);
          onFileBytes(sent);
          return;
        }
        if (stage === 'tail') {
          controller.enqueue(tail);
          stage = 'done';
          return;
        }
        controller.close();
      },
      async cancel(reason) {
        await reader?.cancel(reason).catch(() => undefined);
      },
    });
    return {
      body,
      stop: () => {
        stopped = true;
        void reader?.cancel().catch(() => undefined);
      },
    };
  }
}

/** A name inside a quoted header parameter: quotes and backslashes escaped, line breaks dropped. */
const quoted = (text: string): string => text.replace(/[\r\n]/g, '').replace(/["\\]/g, (character) => `\\${character}`);

let streamsRequests: boolean | undefined;

/**
 * Whether fetch can send a ReadableStream as a request body (Node's fetch, recent browsers over
 * HTTP/2); elsewhere a stream would be sent as the text "[object ReadableStream]".
 */
export function fetchStreamsRequests(): boolean {
  if (streamsRequests !== undefined) return streamsRequests;
  try {
    let duplexRead = false;
    const hasContentType = new Request('http://localhost/', {
      body: new ReadableStream(),
      method: 'POST',
      get duplex() {
        duplexRead = true;
        return 'half';
      },
    } as RequestInit).headers.has('content-type');
    streamsRequests = duplexRead && !hasContentType;
  } catch {
    streamsRequests = false;
  }
  return streamsRequests;
}
