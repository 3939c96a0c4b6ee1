import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDatabase, dropDatabase } from '../services/postgres.js';
import { freePort, startServer, type TestServer } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

/**
 * Two `fota serve` nodes on one PostgreSQL database and one Redis: a device connected to one node
 * is shown online, with its protocol, by the device views of the other (GET one and the list the
 * console's live dots come from), and offline on both once it left.
 */
interface DeviceBody {
  deviceId: string;
  deviceKey: string;
  presence: { online: boolean; protocol: string | null; since: string | null; lastSeen: string | null };
}

const eventually = (assertion: () => Promise<void>) => vi.waitFor(assertion, { timeout: 30_000, interval: 100 });

let databaseUrl: string;
const nodes: TestServer[] = [];
let tcpPortOfA: number;
const sockets: TcpDevice[] = [];

beforeAll(async () => {
  databaseUrl = await createDatabase(inject('postgresUrl'));
  tcpPortOfA = await freePort();
  for (let i = 0; i < 2; i++) {
    nodes.push(
      await startServer({
        FOTA_DATABASE_URL: databaseUrl,
        FOTA_DATABASE_POOL_SIZE: '2',
        FOTA_REDIS_URL: inject('redisUrl'),
        FOTA_REDIS_PRESENCE_TTL_S: '5',
        FOTA_ADMIN_TOKEN: 'test_presence_token_shared_by_both_nodes_0000',
        ...(i === 0 ? { FOTA_TCP_PORT: String(tcpPortOfA) } : {}),
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  for (const node of nodes) await node.stop();
  if (databaseUrl) await dropDatabase(databaseUrl);
});

describe('presence across nodes (FOTA_REDIS_URL)', () => {
  it('shows a device connected over TCP to node A online on node B, and offline on both once it left', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const prototypeId = (await a.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'fleet' })).body
      .prototypeId;
    const device = (await a.api<DeviceBody>('POST', `/prototypes/${prototypeId}/devices`, { name: 'on A' })).body;
    const idle = (await a.api<DeviceBody>('POST', `/prototypes/${prototypeId}/devices`, { name: 'never on' })).body;

    const socket = await TcpDevice.connect(tcpPortOfA);
    sockets.push(socket);
    socket.send(`${device.deviceId},${device.deviceKey},0`);

    const one = (node: TestServer) => node.api<DeviceBody>('GET', `/devices/${device.deviceId}`);
    const list = async (node: TestServer) => {
      const answer = await node.api<DeviceBody[]>('GET', `/prototypes/${prototypeId}/devices`);
      expect(answer.status).toBe(200);
      return new Map(answer.body.map((listed) => [listed.deviceId, listed.presence]));
    };

    await eventually(async () => expect((await one(a)).body.presence).toMatchObject({ online: true, protocol: 'tcp' }));
    const since = (await one(a)).body.presence.since;
    expect(since).not.toBeNull();
    for (const node of [a, b]) {
      await eventually(async () => {
        const answer = await one(node);
        expect(answer.status).toBe(200);
        expect(answer.body.presence).toMatchObject({ online: true, protocol: 'tcp', since });
        const listed = await list(node);
        expect(listed.get(device.deviceId)).toMatchObject({ online: true, protocol: 'tcp', since });
        expect(listed.get(idle.deviceId)?.online).toBe(false);
      });
    }

    socket.close();
    for (const node of [a, b]) {
      await eventually(async () => {
        expect((await one(node)).body.presence.online).toBe(false);
        expect((await list(node)).get(device.deviceId)?.online).toBe(false);
      });
    }
  });
});
