import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ApiError, answerText, HttpClient, readEventStream, type FileSource } from './http-client.js';
import { loopbackServer } from './testing/loopback-server.js';

/** The contract client against small real HTTP servers on loopback, one per test. */

const { serve } = loopbackServer();

async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const json = (response: ServerResponse, status: number, text: string) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(text);
};

/** `size` bytes made up as they are read, counting how many were; never held in memory. */
function madeUpFile(size: number, give = size): FileSource & { readonly read: () => number } {
  let read = 0;
  return {
    size,
    read: () => read,
    stream: () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (read >= give) return controller.close();
          const chunk = new Uint8Array(Math.min(64 * 1024, give - read)).fill(read % 251);
          read += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
  };
}

describe('HttpClient', () => {
  it('names the URL it cannot reach, with the reason in words', async () => {
    const base = `http://127.0.0.1:${await closedPort()}`;
    const failure = await new HttpClient(base).prototypes().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 0, code: 'unreachable', server: base });
    expect((failure as ApiError).message).toBe(`cannot connect to ${base}: connection refused`);
    const named = new HttpClient(`${base}/`, undefined, { name: 'the lab server' });
    await expect(named.prototypes()).rejects.toThrow('cannot connect to the lab server: connection refused');
  });

  it('sends the bearer token and its own headers, and keeps the exact text of each answer', async () => {
    const seen: IncomingMessage[] = [];
    const base = await serve((request, response) => {
      seen.push(request);
      json(response, 200, '[ {"prototypeId":"P1",  "name":"é"} ]');
    });
    const client = new HttpClient(`${base}/`, undefined, { headers: { 'user-agent': 'fota-test/1' } });
    client.credentials = { kind: 'bearer', token: 'secret' };
    const list = await client.prototypes();
    expect(list).toEqual([{ prototypeId: 'P1', name: 'é' }]);
    expect(answerText(list)).toBe('[ {"prototypeId":"P1",  "name":"é"} ]');
    expect(seen[0]?.url).toBe('/api/v1/prototypes');
    expect(seen[0]?.headers).toMatchObject({ authorization: 'Bearer secret', 'user-agent': 'fota-test/1' });
  });

  it.each([
    [404, '{"error":{"code":"not_found","message":"no prototype P1"}}', 'not_found', 'no prototype P1'],
    [502, '<html>bad gateway</html>', 'http_error', 'the server answered HTTP 502 without an explanation'],
    [200, 'not json', 'not_json', 'the server answered HTTP 200 without JSON'],
  ])('an answer %i %s is an ApiError %s', async (status, text, code, message) => {
    const base = await serve((_request, response) => json(response, status, text));
    await expect(new HttpClient(base).prototype('P1')).rejects.toMatchObject({ status, code, message, server: base });
  });

  it('refuses an answer larger than its limit without reading the rest', async () => {
    const base = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`[${'1,'.repeat(5000)}1]`);
    });
    const client = new HttpClient(base, undefined, { maxAnswerBytes: 1000 });
    await expect(client.prototypes()).rejects.toMatchObject({ code: 'too_large', status: 200 });
  });

  it('rejects as fetch does when its own signal aborts, not as unreachable', async () => {
    const base = await serve(() => {}); // never answers
    const abort = new AbortController();
    const call = new HttpClient(base).request('GET', '/prototypes', undefined, { signal: abort.signal });
    abort.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('HttpClient.uploadFirmware over fetch', () => {
  it('streams the file with the length of the whole body known up front, and reports the bytes sent', async () => {
    const file = madeUpFile(3 * 1024 * 1024 + 17);
    let received: { headers: IncomingMessage['headers']; bytes: number; md5: string; text: string } | undefined;
    const base = await serve((request, response) => {
      const hash = createHash('md5');
      let bytes = 0;
      let head = '';
      request.on('data', (chunk: Buffer) => {
        if (head.length < 2000) head += chunk.toString('latin1');
        bytes += chunk.length;
        hash.update(chunk);
      });
      request.on('end', () => {
        received = { headers: request.headers, bytes, md5: hash.digest('hex'), text: head };
        json(response, 201, '{"fwId":"F1"}');
      });
    });
    const progress: number[] = [];
    const answer = await new HttpClient(base).uploadFirmware(
      'P1',
      { name: 'Lamp', version: '1.0', prerequisites: ['F0', 'F9'], file, fileName: 'lamp "1".bin' },
      undefined,
      (sent, total) => {
        expect(total).toBe(file.size);
        progress.push(sent);
      },
    );
    expect(answer).toEqual({ fwId: 'F1' });
    expect(received?.headers['content-length']).toBe(String(received?.bytes));
    expect(received?.headers['transfer-encoding']).toBeUndefined();
    expect(received?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=----fota-[0-9a-f]{32}$/);
    expect(received?.text).toContain('name="prerequisites"\r\n\r\nF0,F9\r\n');
    expect(received?.text).toContain('name="file"; filename="lamp \\"1\\".bin"');
    expect(progress.length).toBeGreaterThan(10);
    expect(progress.at(-1)).toBe(file.size);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('stops sending once the server answered: a refusal does not wait for the whole file', async () => {
    const file = madeUpFile(1024 * 1024 * 1024);
    const base = await serve((request, response) => {
      json(response, 401, '{"error":{"code":"unauthenticated","message":"the bearer token is not valid"}}');
      request.resume();
    });
    await expect(
      new HttpClient(base).uploadFirmware('P1', { name: 'A', version: '1', file, fileName: 'a.bin' }),
    ).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(file.read()).toBeLessThan(file.size / 4);
  });

  it('fails as file_unreadable when the file gives fewer bytes than its size', async () => {
    const base = await serve((request, response) => {
      request.resume();
      request.on('end', () => json(response, 201, '{}'));
    });
    const file = madeUpFile(100_000, 40_000);
    await expect(
      new HttpClient(base).uploadFirmware('P1', { name: 'A', version: '1', file, fileName: 'a.bin' }),
    ).rejects.toMatchObject({
      status: 0,
      code: 'file_unreadable',
      message: 'the file got shorter while it was being sent',
    });
  });
});

describe('the event stream', () => {
  it('reads events split anywhere, with CRLF, comments and data on several lines', async () => {
    const base = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(': hello\r\n\r\nevent: device.online\r\ndata: {"deviceId":');
      setTimeout(() => response.end('"D1"}\r\n\r\ndata: line one\ndata: line two\n\n'), 20);
    });
    const events: Array<[string, string]> = [];
    const response = await new HttpClient(base).openEvents(new AbortController().signal);
    const end = await readEventStream(response, (name, data) => events.push([name, data]));
    expect(end).toBe('closed');
    expect(events).toEqual([
      ['device.online', '{"deviceId":"D1"}'],
      ['message', 'line one\nline two'],
    ]);
  });

  it('says a stream went silent, and refuses an answer that is no event stream', async () => {
    const base = await serve((request, response) => {
      if (request.url === '/api/v1/events' && request.headers.authorization === 'Bearer ok') {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write(': open\n\n');
        return;
      }
      json(response, 200, '{}');
    });
    const client = new HttpClient(base);
    await expect(client.openEvents(new AbortController().signal)).rejects.toMatchObject({
      code: 'not_event_stream',
      status: 200,
    });
    client.credentials = { kind: 'bearer', token: 'ok' };
    const response = await client.openEvents(new AbortController().signal);
    expect(await readEventStream(response, () => {}, { idleMs: 300 })).toBe('silent');
  });
});
