import { describe, expect, it } from 'vitest';
import { connect } from './api-connection.js';
import { openEventStream } from './event-stream.js';
import { loopbackServer } from '../contract/testing/loopback-server.js';

/** `fota events` and `fota push --wait` follow the stream through this adapter: its words, per ending. */

const { serve, close } = loopbackServer();

interface Followed {
  readonly opened: boolean;
  readonly events: Array<[string, string]>;
  readonly problem: { readonly message: string; readonly fatal: boolean };
}

function follow(url: string, token = 'ok'): Promise<Followed> {
  return new Promise((resolve) => {
    let opened = false;
    const events: Array<[string, string]> = [];
    openEventStream(connect({ url, token }), {
      open: () => (opened = true),
      event: (name, data) => events.push([name, data]),
      close: (problem) => resolve({ opened, events, problem }),
    });
  });
}

describe('openEventStream', () => {
  it('hands over each event with its data as sent, and says when the server closed the stream', async () => {
    const url = await serve((request, response) => {
      expect(request.headers).toMatchObject({ authorization: 'Bearer ok', accept: 'text/event-stream' });
      expect(request.headers['user-agent']).toMatch(/^fota-cli\//);
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      response.end('event: device.online\ndata: {"deviceId":"D1", "at":"x"}\n\n');
    });
    expect(await follow(url)).toEqual({
      opened: true,
      events: [['device.online', '{"deviceId":"D1", "at":"x"}']],
      problem: { message: 'the server closed the event stream', fatal: false },
    });
  });

  it('gives up on a refused token with the API answer and the hint, and on a server that is not fota', async () => {
    const url = await serve((request, response) => {
      const refused = request.headers.authorization !== 'Bearer ok';
      response.writeHead(refused ? 401 : 200, { 'content-type': 'application/json' });
      response.end(refused ? '{"error":{"code":"unauthenticated","message":"the bearer token is not valid"}}' : '{}');
    });
    expect((await follow(url, 'wrong')).problem).toEqual({
      message: 'the bearer token is not valid (unauthenticated, HTTP 401); check --token or FOTA_TOKEN',
      fatal: true,
    });
    expect((await follow(url)).problem).toEqual({
      message: `${url} did not answer /api/v1/events with an event stream; is it a fota server?`,
      fatal: true,
    });
  });

  it('tries again after a server error or a refused connection', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(503);
      response.end();
    });
    expect((await follow(url)).problem).toEqual({
      message: `${url} answered HTTP 503 to /api/v1/events`,
      fatal: false,
    });
    await close();
    expect((await follow(url)).problem).toEqual({
      message: `event stream of ${url}: connection refused`,
      fatal: false,
    });
  });
});
