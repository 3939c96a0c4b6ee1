import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The file part of a form: its size is known up front, so the request has a Content-Length. */
export interface FilePart {
  readonly fileName: string;
  readonly size: number;
  /** Opens the bytes; a file on disk is streamed, never read whole. */
  open(): Readable;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * POSTs `multipart/form-data` with text fields first and the file last, streaming the file through
 * node:http with backpressure. Answers the status and body, also when the server answered before
 * reading everything (an early 4xx). Fails when nothing is sent or received for `idleTimeoutMs`.
 */
export async function postMultipart(
  url: string,
  headers: Record<string, string>,
  fields: Record<string, string>,
  file: FilePart,
  idleTimeoutMs = 60_000,
): Promise<HttpAnswer> {
  const boundary = `----fota-bench-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    Object.entries(fields)
      .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
      .join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.fileName}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);

  const req = request(url, {
    method: 'POST',
    agent: false,
    timeout: idleTimeoutMs,
    headers: {
      ...headers,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.length + file.size + tail.length),
    },
  });
  const answer = new Promise<HttpAnswer>((resolve, reject) => {
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
  req.once('timeout', () => req.destroy(new Error(`POST ${url}: nothing moved for ${idleTimeoutMs / 1000} s`)));

  async function* body(): AsyncGenerator<Buffer> {
    yield head;
    for await (const chunk of file.open()) yield chunk as Buffer;
    yield tail;
  }
  const sent = pipeline(Readable.from(body(), { objectMode: false }), req).then(
    () => undefined,
    (error: unknown) => error,
  );
  const result = await answer;
  const sendError = await sent;
  if (sendError && result.status < 400) throw sendError;
  return result;
}
