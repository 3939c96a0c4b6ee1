import { connect } from 'node:net';

export interface RawResponse {
  /** Everything the server sent, as text. */
  readonly raw: string;
  readonly status: number;
  /** The header block as sent, names in their original case. */
  readonly head: string;
  readonly body: string;
}

/**
 * Sends bytes exactly as given over a plain socket and reads one response, framed by its
 * `Content-Length: ` header (the exact spelling MCS clients look for). Fails when the header is
 * missing or the connection closes early.
 */
export function rawRequest(
  port: number,
  request: string | Buffer,
  options: { closeAfterWrite?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response; got: ${data.toString('latin1')}`));
    }, 10_000);
    const finish = (result: RawResponse | Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.on('connect', () => {
      socket.write(request);
      if (options.closeAfterWrite) socket.end();
    });
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      const text = data.toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = text.slice(0, headEnd);
      const match = /\r\nContent-Length: (\d+)\r\n/.exec(`${head}\r\n`);
      if (!match) return finish(new Error(`no "Content-Length: " header in:\n${head}`));
      const length = Number(match[1]);
      if (data.length < headEnd + 4 + length) return;
      const body = data.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
      finish({ raw: text, status: Number(head.split(' ')[1]), head, body });
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`connection closed; got: ${data.toString('latin1')}`)));
  });
}
