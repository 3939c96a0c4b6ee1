import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { eventually } from '../support/data-dir.js';
import { freePort, startServer, testEnvironment, type TestServer } from '../support/server.js';

/** What the receiver saw of one request. */
interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly answered: number;
}

/** A webhook receiver on loopback that records every request and answers what `answer` says. */
async function startReceiver(
  port: number,
  answer: (request: Received[]) => number,
): Promise<{ server: Server; seen: Received[] }> {
  const seen: Received[] = [];
  const server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (chunk: Buffer) => parts.push(chunk));
    request.on('end', () => {
      const received = { headers: request.headers, body: Buffer.concat(parts).toString('utf8'), answered: 0 };
      const status = answer([...seen, received]);
      seen.push({ ...received, answered: status });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'thanks' : 'receiver broke');
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { server, seen };
}

/** A receiver's check of a delivery, written here with node:crypto as docs/integrations.md shows it. */
function signatureHolds(secret: string, received: Received): boolean {
  const timestamp = received.headers['fota-webhook-timestamp'] as string;
  const header = received.headers['fota-webhook-signature'] as string;
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${received.body}`).digest('hex')}`;
  return (
    /^\d+$/.test(timestamp) &&
    Math.abs(Date.now() / 1000 - Number(timestamp)) < 300 &&
    header.length === expected.length &&
    timingSafeEqual(Buffer.from(header), Buffer.from(expected))
  );
}

const quickRetries = {
  FOTA_WEBHOOK_ALLOW_PRIVATE: 'true',
  FOTA_WEBHOOK_RETRY_BASE_S: '0.2',
  FOTA_WEBHOOK_RETRY_MAX_S: '1',
  FOTA_WEBHOOK_MAX_ATTEMPTS: '1000',
  FOTA_WEBHOOK_POLL_S: '0.2',
  FOTA_WEBHOOK_TIMEOUT_S: '2',
};

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;
const apiOf =
  (url: string, token: string): Api =>
  async (method, path, body) => {
    const response = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  };

async function upload(url: string, token: string, prototypeId: string, version: string): Promise<string> {
  const form = new FormData();
  form.append('name', `fw ${version}`);
  form.append('version', version);
  form.append('file', new Blob([`firmware ${version}`]), 'fw.bin');
  const response = await fetch(`${url}/api/v1/prototypes/${prototypeId}/firmwares`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const body = (await response.json()) as { fwId: string };
  expect(response.status).toBe(201);
  return body.fwId;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('webhooks', () => {
  it('sign every try; a receiver answering 500 then 200 sees the retry with the same delivery id, and the log shows both', async () => {
    const receiverPort = await freePort();
    const receiver = await startReceiver(receiverPort, (seen) => {
      const id = seen.at(-1)!.headers['fota-webhook-id'];
      return seen.filter((r) => r.headers['fota-webhook-id'] === id).length === 1 ? 500 : 200;
    });
    cleanups.push(async () => void receiver.server.close());
    const env = await testEnvironment(quickRetries);
    const server = await startChildServer(env);
    cleanups.push(async () => {
      await server.kill('SIGKILL');
      await rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true });
    });
    const api = apiOf(server.url, env['FOTA_ADMIN_TOKEN']!);

    const created = await api('POST', '/webhooks', {
      url: `http://127.0.0.1:${receiverPort}/hook`,
      events: ['firmware.uploaded', 'push.created'],
      description: 'ci',
    });
    expect(created.status).toBe(201);
    const { webhookId, secret } = created.body;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    // The secret is shown once: neither the list nor the subscription holds it.
    expect(JSON.stringify((await api('GET', '/webhooks')).body)).not.toContain(secret);
    expect((await api('GET', `/webhooks/${webhookId}`)).body).not.toHaveProperty('secret');

    const prototypeId = (await api('POST', '/prototypes', { name: 'hooked' })).body.prototypeId;
    const fwId = await upload(server.url, env['FOTA_ADMIN_TOKEN']!, prototypeId, '1.0');
    await eventually(
      async () => receiver.seen.length,
      (n) => n >= 2,
      30_000,
    );
    const [first, second] = receiver.seen;
    expect(first!.answered).toBe(500);
    expect(second!.answered).toBe(200);
    expect(second!.headers['fota-webhook-id']).toBe(first!.headers['fota-webhook-id']);
    expect([first!.headers['fota-webhook-attempt'], second!.headers['fota-webhook-attempt']]).toEqual(['1', '2']);
    expect(second!.body).toBe(first!.body);
    for (const received of receiver.seen) expect(signatureHolds(secret, received)).toBe(true);
    const event = JSON.parse(first!.body);
    expect(event).toMatchObject({ type: 'firmware.uploaded', data: { fwId, prototypeId, version: '1.0' } });
    expect(first!.headers['fota-webhook-event']).toBe('firmware.uploaded');
    // A wrong secret does not verify.
    expect(signatureHolds(`${secret}x`, first!)).toBe(false);

    const deliveryId = first!.headers['fota-webhook-id'] as string;
    const log = await eventually(
      async () => (await api('GET', `/webhooks/${webhookId}/deliveries`)).body,
      (page) => page.deliveries[0]?.status === 'delivered',
    );
    expect(log.deliveries).toHaveLength(1);
    expect(log.deliveries[0]).toMatchObject({ deliveryId, eventId: event.id, event: 'firmware.uploaded' });
    expect(log.deliveries[0].attempts.map((a: any) => [a.attempt, a.httpStatus, a.error, a.responseExcerpt])).toEqual([
      [1, 500, 'answered HTTP 500', 'receiver broke'],
      [2, 200, null, 'thanks'],
    ]);

    // A manual redelivery: the same delivery id and body, one more signed try.
    expect((await api('POST', `/webhooks/${webhookId}/deliveries/${deliveryId}/redeliver`)).status).toBe(202);
    await eventually(
      async () => receiver.seen.length,
      (n) => n >= 3,
    );
    expect(receiver.seen[2]!.headers['fota-webhook-id']).toBe(deliveryId);
    expect(receiver.seen[2]!.body).toBe(first!.body);
    expect(signatureHolds(secret, receiver.seen[2]!)).toBe(true);

    // A ping, signed with a rotated secret; the old secret no longer verifies.
    const rotated = (await api('POST', `/webhooks/${webhookId}/secret`)).body.secret;
    expect(rotated).not.toBe(secret);
    const ping = await api('POST', `/webhooks/${webhookId}/ping`);
    expect(ping.status).toBe(202);
    const pinged = await eventually(
      async () => receiver.seen.filter((r) => r.headers['fota-webhook-id'] === ping.body.deliveryId),
      (seen) => seen.length >= 1,
    );
    expect(JSON.parse(pinged[0]!.body).type).toBe('ping');
    expect(signatureHolds(rotated, pinged[0]!)).toBe(true);
    expect(signatureHolds(secret, pinged[0]!)).toBe(false);

    // Disabled: new events write no delivery.
    expect((await api('PATCH', `/webhooks/${webhookId}`, { enabled: false })).body.enabled).toBe(false);
    await upload(server.url, env['FOTA_ADMIN_TOKEN']!, prototypeId, '2.0');
    expect((await api('GET', `/webhooks/${webhookId}/deliveries`)).body.deliveries).toHaveLength(2);
    expect((await api('DELETE', `/webhooks/${webhookId}`)).status).toBe(204);
    expect((await api('GET', `/webhooks/${webhookId}`)).status).toBe(404);
  });

  it('lose nothing while the receiver is down for 30 s, across a server restart: every event arrives, once per delivery id', async () => {
    const receiverPort = await freePort(); // closed until the receiver starts
    const env = await testEnvironment(quickRetries);
    let server: ChildServer = await startChildServer(env);
    cleanups.push(async () => {
      await server.kill('SIGKILL');
      await rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true });
    });
    const token = env['FOTA_ADMIN_TOKEN']!;
    const api = apiOf(server.url, token);
    const { webhookId, secret } = (
      await api('POST', '/webhooks', { url: `http://127.0.0.1:${receiverPort}/`, events: ['firmware.uploaded'] })
    ).body;
    const prototypeId = (await api('POST', '/prototypes', { name: 'outage' })).body.prototypeId;
    const downSince = Date.now();

    const uploaded: string[] = [];
    for (const version of ['1', '2', '3', '4']) uploaded.push(await upload(server.url, token, prototypeId, version));
    // Tried and refused a few times, then the server is killed and started again on the same data.
    await eventually(
      async () => (await api('GET', `/webhooks/${webhookId}/deliveries`)).body.deliveries,
      (deliveries: any[]) => deliveries.length === 4 && deliveries.every((d) => d.attempts.length >= 2),
      30_000,
    );
    await server.kill('SIGKILL');
    server = await startChildServer(env);
    for (const version of ['5', '6']) uploaded.push(await upload(server.url, token, prototypeId, version));

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 30_000 - (Date.now() - downSince))));
    const receiver = await startReceiver(receiverPort, () => 200);
    cleanups.push(async () => void receiver.server.close());

    await eventually(
      async () => new Set(receiver.seen.map((r) => JSON.parse(r.body).data.fwId)),
      (fwIds) => uploaded.every((fwId) => fwIds.has(fwId)),
      60_000,
    );
    const page = await eventually(
      async () => (await api('GET', `/webhooks/${webhookId}/deliveries?limit=100`)).body,
      (body) => body.deliveries.every((d: any) => d.status === 'delivered'),
    );
    expect(page.deliveries).toHaveLength(uploaded.length);
    // Each event under one delivery id; a duplicate is only ever a retry of that id.
    const idsOfEvent = new Map<string, Set<string>>();
    for (const received of receiver.seen) {
      expect(signatureHolds(secret, received)).toBe(true);
      const eventId = JSON.parse(received.body).id as string;
      idsOfEvent.set(
        eventId,
        (idsOfEvent.get(eventId) ?? new Set()).add(received.headers['fota-webhook-id'] as string),
      );
    }
    expect(idsOfEvent.size).toBe(uploaded.length);
    for (const ids of idsOfEvent.values()) expect(ids.size).toBe(1);
    for (const delivery of page.deliveries) {
      expect(delivery.attempts.length).toBeGreaterThanOrEqual(2);
      expect(delivery.attempts.at(-1)).toMatchObject({ httpStatus: 200, error: null });
      expect(delivery.attempts[0]).toMatchObject({ httpStatus: null, error: 'connection refused' });
    }
  }, 180_000);
});

describe('webhook subscriptions refuse', () => {
  let server: TestServer | undefined;
  afterEach(async () => server?.stop());

  it('URLs that are not http(s), hold credentials, or (by default) point at loopback and private addresses', async () => {
    server = await startServer();
    const create = (url: string, events: string[] = ['push.created']) =>
      server!.api<any>('POST', '/webhooks', { url, events });
    for (const [url, message] of [
      ['ftp://example.com/', 'url must be http:// or https://, not ftp:'],
      ['not a url', 'url "not a url" is not a URL'],
      ['https://user:pw@example.com/', 'url must not hold a user name or password'],
      ['http://127.0.0.1:9/', '127.0.0.1 is a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false'],
      ['http://[::1]/', '::1 is a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false'],
      [
        'http://192.168.1.20/',
        '192.168.1.20 is a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false',
      ],
      [
        'http://169.254.169.254/',
        '169.254.169.254 is a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false',
      ],
      ['http://localhost:8080/', 'localhost is a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false'],
    ]) {
      const answer = await create(url!);
      expect({ url, status: answer.status, message: answer.body.error?.message }).toEqual({
        url,
        status: 400,
        message,
      });
    }
    const unknown = await create('https://hooks.example.com/', ['device.exploded']);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('unknown event "device.exploded"');
    expect((await create('https://hooks.example.com/')).status).toBe(201);
  });

  it('more subscriptions than FOTA_WEBHOOK_MAX_SUBSCRIPTIONS', async () => {
    server = await startServer({ FOTA_WEBHOOK_MAX_SUBSCRIPTIONS: '2' });
    const create = () =>
      server!.api<any>('POST', '/webhooks', { url: 'https://hooks.example.com/', events: ['push.created'] });
    expect((await create()).status).toBe(201);
    expect((await create()).status).toBe(201);
    const third = await create();
    expect(third.status).toBe(400);
    expect(third.body.error.message).toBe(
      'there are 2 webhook subscriptions already, the most FOTA_WEBHOOK_MAX_SUBSCRIPTIONS allows',
    );
  });
});
