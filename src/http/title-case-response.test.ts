import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalName, TitleCaseResponse } from './title-case-response.js';

describe('canonicalName', () => {
  it.each<[string, string]>([
    ['content-length', 'Content-Length'],
    ['content-type', 'Content-Type'],
    ['etag', 'ETag'],
    ['ETAG', 'ETag'],
    ['Etag', 'ETag'],
    ['last-modified', 'Last-Modified'],
    ['x-checksum-sha256', 'X-Checksum-Sha256'],
    ['content-md5', 'Content-Md5'],
    ['accept-ranges', 'Accept-Ranges'],
    ['date', 'Date'],
    ['Content-Length', 'Content-Length'],
    ['x', 'X'],
    ['a--b', 'A--B'],
    ['-leading', '-Leading'],
  ])('%s → %s', (name, expected) => {
    expect(canonicalName(name)).toBe(expected);
    expect(canonicalName(name)).toBe(expected);
  });
});

describe('TitleCaseResponse on the wire', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer({ ServerResponse: TitleCaseResponse }, (request, response) => {
      const body = 'ok';
      if (request.url === '/reason') {
        response.writeHead(200, 'Fine', { 'content-length': body.length, etag: '"x"' });
      } else {
        response.writeHead(200, { 'content-length': body.length, 'content-type': 'text/plain', etag: '"x"' });
      }
      response.end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  async function rawResponse(path: string): Promise<string> {
    const socket = connect(port, '127.0.0.1');
    socket.end(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('latin1');
  }

  it.each([
    ['/', 'HTTP/1.1 200 OK\r\n'],
    ['/reason', 'HTTP/1.1 200 Fine\r\n'],
  ])('writes Title-Case header names for %s', async (path, statusLine) => {
    const raw = await rawResponse(path);
    expect(raw.startsWith(statusLine)).toBe(true);
    expect(raw).toContain('\r\nContent-Length: 2\r\n');
    expect(raw).toContain('\r\nETag: "x"\r\n');
    expect(raw).not.toMatch(/\r\ncontent-length:/);
    expect(raw).not.toMatch(/transfer-encoding/i);
    expect(raw.endsWith('\r\n\r\nok')).toBe(true);
  });
});
