import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpWebhookSender, isPrivateAddress, urlRefusal } from '../../src/net/webhook-sender.js';

let receiver: Server | undefined;
afterEach(async () => {
  receiver?.closeAllConnections();
  receiver?.close();
  receiver = undefined;
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  receiver = createServer(handler);
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const address = receiver.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

const post = (sender: HttpWebhookSender, url: string) =>
  sender.post({ url, headers: { 'x-test': '1' }, body: '{"a":1}' });

describe('the webhook sender', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.0.10', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['::', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['8.8.8.8', false],
    ['172.32.0.1', false],
    ['2001:4860:4860::8888', false],
    ['::ffff:8.8.8.8', false],
  ])('knows whether %s is private: %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it('refuses loopback URLs unless private receivers are allowed, and lets names through to be checked when resolved', () => {
    expect(urlRefusal(new URL('http://[::1]:8080/'), false)).toBe(
      '::1 is a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false',
    );
    expect(urlRefusal(new URL('http://127.0.0.1/'), true)).toBeUndefined();
    expect(urlRefusal(new URL('https://hooks.example.com/'), false)).toBeUndefined();
  });

  it('posts the body with its headers and keeps at most 1024 bytes of the answer', async () => {
    let seen: { headers: Record<string, unknown>; body: string } | undefined;
    const url = await listen((request, response) => {
      const parts: Buffer[] = [];
      request.on('data', (chunk: Buffer) => parts.push(chunk));
      request.on('end', () => {
        seen = { headers: request.headers, body: Buffer.concat(parts).toString() };
        response.writeHead(202).end('x'.repeat(5000));
      });
    });
    const result = await post(new HttpWebhookSender({ timeoutMs: 5000, allowPrivate: true }), `${url}/hook`);
    expect(result).toEqual({ kind: 'answered', status: 202, excerpt: 'x'.repeat(1024) });
    expect(seen).toMatchObject({ body: '{"a":1}', headers: { 'x-test': '1', 'content-length': '7' } });
  });

  it('does not follow a redirect', async () => {
    let requests = 0;
    const url = await listen((_request, response) => {
      requests++;
      response.writeHead(302, { location: '/elsewhere' }).end();
    });
    expect(await post(new HttpWebhookSender({ timeoutMs: 5000, allowPrivate: true }), url)).toEqual({
      kind: 'answered',
      status: 302,
      excerpt: '',
    });
    expect(requests).toBe(1);
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const url = await listen(() => undefined);
    expect(await post(new HttpWebhookSender({ timeoutMs: 300, allowPrivate: true }), url)).toEqual({
      kind: 'error',
      message: 'no answer within 0.3 s',
    });
  });

  it('posts nothing to a loopback receiver while private receivers are refused', async () => {
    let requests = 0;
    const url = await listen((_request, response) => {
      requests++;
      response.end();
    });
    expect(await post(new HttpWebhookSender({ timeoutMs: 5000, allowPrivate: false }), url)).toEqual({
      kind: 'error',
      message: 'refused: 127.0.0.1 is a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false',
    });
    expect(requests).toBe(0);
  });
});
