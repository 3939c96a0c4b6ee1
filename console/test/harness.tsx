import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer } from '../../test/support/child-server.js';
import { client, type Signed } from '../src/api';
import { SignedContext } from '../src/App';
import { useEventStream } from '../src/events';

/** A free TCP port on loopback (test/support/server.ts imports the app, which jsdom's URL breaks). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface ConsoleServer {
  readonly url: string;
  readonly token: string;
  readonly tcpPort: number;
  /** A JSON call to the management API with the admin token. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/**
 * Component tests run against a real `fota serve` process on loopback: the page's origin becomes
 * the server's (uploads go over jsdom's XMLHttpRequest, same-origin) and the client signs in with
 * the admin token as a bearer token.
 */
export async function startConsoleServer(): Promise<ConsoleServer> {
  const port = await freePort();
  const env = {
    FOTA_DATA_DIR: await mkdtemp(join(tmpdir(), 'fota-console-test-')),
    FOTA_HTTP_PORT: String(port),
    FOTA_TCP_PORT: String(await freePort()),
    FOTA_MQTT_PORT: String(await freePort()),
    FOTA_HOST: '127.0.0.1',
    FOTA_PUBLIC_URL: `http://127.0.0.1:${port}`,
    FOTA_ADMIN_TOKEN: `test_${randomBytes(24).toString('hex')}`,
    FOTA_LOG_LEVEL: 'silent',
  };
  const child = await startChildServer(env);
  const token = env['FOTA_ADMIN_TOKEN']!;
  const server: ConsoleServer = {
    url: child.url,
    token,
    tcpPort: Number(env['FOTA_TCP_PORT']),
    async api<T>(method: string, path: string, body?: unknown) {
      const response = await fetch(`${child.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
    },
    async stop() {
      await child.kill('SIGTERM');
      await rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true });
    },
  };
  const { jsdom } = globalThis as unknown as {
    jsdom: { reconfigure(options: { url: string }): void; window: { _origin: string } };
  };
  jsdom.reconfigure({ url: `${server.url}/` });
  // reconfigure() moves the document, but XMLHttpRequest reads the window's own copy of the origin.
  jsdom.window._origin = server.url;
  client.base = server.url;
  client.credentials = { kind: 'bearer', token: server.token };
  return server;
}

function Live({ queries, children }: { queries: QueryClient; children: ReactNode }) {
  const state = useEventStream(client, queries, true);
  return (
    <>
      <output data-testid="stream" data-state={state} />
      {children}
    </>
  );
}

export function renderConsole(
  ui: ReactNode,
  { role = 'admin', live = false }: { role?: Signed['role']; live?: boolean } = {},
) {
  const queries = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const signed: Signed = { email: 'test@example.com', role, via: 'token' };
  const result = render(
    <MantineProvider>
      <QueryClientProvider client={queries}>
        <SignedContext.Provider value={signed}>
          {live ? <Live queries={queries}>{ui}</Live> : ui}
        </SignedContext.Provider>
      </QueryClientProvider>
    </MantineProvider>,
  );
  return { ...result, queries };
}
