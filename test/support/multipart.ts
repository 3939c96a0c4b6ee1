import { request } from 'node:http';
import { randomBytes } from 'node:crypto';

export interface StreamedUpload {
  /** Resolves with the answer, or rejects when the connection breaks. */
  readonly done: Promise<{ status: number; body: any }>;
  /** Cuts the connection from the client side. */
  abort(): void;
}

/**
 * Sends a multipart firmware upload over node:http, the file part produced chunk by chunk by
 * `nextChunk` (undefined ends it), so a test controls how fast bytes go and can stop halfway.
 */
export function streamUpload(
  baseUrl: string,
  token: string,
  prototypeId: string,
  fields: Record<string, string>,
  fileSize: number,
  nextChunk: (sent: number) => Promise<Buffer | undefined>,
  fileName = 'fw.bin',
): StreamedUpload {
  const boundary = `----fota${randomBytes(8).toString('hex')}`;
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const length = Buffer.byteLength(head) + fileSize + Buffer.byteLength(tail);
  const url = new URL(`/api/v1/prototypes/${prototypeId}/firmwares`, baseUrl);
  const req = request(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': length,
    },
  });
  const done = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) });
      });
      response.on('error', reject);
    });
    req.on('error', reject);
  });
  void (async () => {
    req.write(head);
    let sent = 0;
    for (;;) {
      const chunk = await nextChunk(sent);
      if (chunk === undefined || req.destroyed) break;
      sent += chunk.length;
      if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve));
    }
    if (!req.destroyed) req.end(tail);
  })().catch(() => undefined);
  return { done, abort: () => req.destroy() };
}

/** Chunks of a buffer, `size` bytes at a time, optionally waiting `delayMs` before each. */
export function chunksOf(content: Buffer, size: number, delayMs = 0): (sent: number) => Promise<Buffer | undefined> {
  return async (sent) => {
    if (sent >= content.length) return undefined;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return content.subarray(sent, Math.min(content.length, sent + size));
  };
}
