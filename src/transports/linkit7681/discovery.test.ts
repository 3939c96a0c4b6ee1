import { request } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainError, notFound } from '../../domain/errors.js';
import { AuthThrottle } from '../../net/auth-throttle.js';
import { deviceKeyBytes } from './crypto.js';
import { readConnectAnswer, requestToken } from './discovery-token.js';
import { startDiscoveryServer, type DiscoveryServer } from './discovery.js';

const ID = 'Dq1w2e3r';
const KEY = deviceKeyBytes('abcdefghijklmnop')!;
let server: DiscoveryServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(throttle?: AuthThrottle) {
  server = await startDiscoveryServer({
    host: '127.0.0.1',
    port: 0,
    commandServer: { host: '192.168.1.50', port: 443 },
    deviceSelf: {
      authenticateByProof: async (deviceId, proves) => {
        if (deviceId !== ID) throw notFound('no such device');
        if (!proves('abcdefghijklmnop')) throw new DomainError('unauthenticated', 'wrong key');
        return { kind: 'device', deviceId, prototypeId: 'P', key: 'abcdefghijklmnop' };
      },
    },
    logger: pino({ level: 'silent' }),
    throttle,
    maxConnections: 10,
    headersTimeoutMs: 5000,
  });
  return server.port();
}

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the 7681 discovery endpoint', () => {
  it('answers a connect token with the encrypted command server address (vectors V2, V3)', async () => {
    const port = await start();
    const answer = await get(port, `/devcloud/device/${ID}/connect/${requestToken(KEY, ID)}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('c0c28f83f9d7375b769c8724542849e539e39430e89b3eded2311119518da0bf');
    expect(readConnectAnswer(KEY, answer.body)).toEqual({ ip: '192.168.1.50', port: 443 });
  });

  it('gives an empty 403 to a token that does not prove the key or an unknown device, and counts them', async () => {
    const throttle = new AuthThrottle({ burst: 2, failuresPerMinute: 1, maxAddresses: 10 });
    const port = await start(throttle);
    const other = deviceKeyBytes('ponmlkjihgfedcba')!;
    expect(await get(port, `/devcloud/device/${ID}/connect/${requestToken(other, ID)}`)).toEqual({
      status: 403,
      body: '',
    });
    expect(await get(port, `/devcloud/device/Xq1w2e3r/connect/${requestToken(KEY, 'Xq1w2e3r')}`)).toEqual({
      status: 403,
      body: '',
    });
    // The burst is spent: even the right token is refused now, unchecked.
    expect(await get(port, `/devcloud/device/${ID}/connect/${requestToken(KEY, ID)}`)).toEqual({
      status: 429,
      body: '',
    });
  });

  it('gives an empty 404 to other paths and a 405 to other methods', async () => {
    const port = await start();
    expect(await get(port, `/devcloud/device/${ID}/connect/abc`)).toEqual({ status: 404, body: '' });
    expect(await get(port, `/devcloud/device/${ID}/verifyRegistration/${requestToken(KEY, ID)}`)).toEqual({
      status: 404,
      body: '',
    });
    expect(await get(port, `/devcloud/device/${ID}/connect/${requestToken(KEY, ID)}`, 'POST')).toEqual({
      status: 405,
      body: '',
    });
  });
});
