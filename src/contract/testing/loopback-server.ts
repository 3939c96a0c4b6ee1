import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * A small real HTTP server on loopback for the clients' tests, one per test: `serve(handler)` starts
 * it and answers its base URL, `close()` stops it (connections and all), as it is after each test.
 */
export function loopbackServer(): { serve(handler: Handler): Promise<string>; close(): Promise<void> } {
  let server: Server | undefined;
  const close = async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  };
  afterEach(close);
  return {
    async serve(handler) {
      server = createServer(handler);
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close,
  };
}
