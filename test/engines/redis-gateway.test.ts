import { describe, expect, inject, it, vi } from 'vitest';
import { ClusterGateway } from '../../src/bus/redis/cluster-gateway.js';
import { channels, keys } from '../../src/bus/redis/keys.js';
import { RedisLink } from '../../src/bus/redis/link.js';
import { LocalEventBus } from '../../src/domain/events.js';
import { DeviceConnections } from '../../src/domain/services/connections.js';
import { gatewayContract, RecordingConnection } from '../../src/domain/testing/gateway.contract.js';

const fail = (error: unknown) => {
  throw error;
};

/** `count` nodes, each with its own connections, bus and Redis link, in one test process. */
export async function redisNodes(count: number, presenceTtlMs = 3000) {
  const nodes: Array<{ link: RedisLink; connections: DeviceConnections; gateway: ClusterGateway }> = [];
  for (let index = 0; index < count; index++) {
    const link = await RedisLink.open(inject('redisUrl'), undefined, fail);
    const events = new LocalEventBus(fail);
    const connections = new DeviceConnections({ events, clock: { now: () => new Date() } });
    const gateway = await ClusterGateway.start({
      local: connections,
      events,
      link,
      presenceTtlMs,
      requestTimeoutMs: 5000,
      onError: fail,
    });
    nodes.push({ link, connections, gateway });
  }
  return {
    nodes,
    async close() {
      for (const node of nodes) {
        node.connections.closeAll('test over');
        await node.gateway.stop();
        await node.link.close();
      }
    },
  };
}

gatewayContract('ClusterGateway on Redis', (count) => redisNodes(count));

describe('ClusterGateway presence in Redis', () => {
  it('keeps a live node’s entries past their TTL, and lets a dead node’s expire within it', async () => {
    const ttl = 1500;
    const cluster = await redisNodes(2, ttl);
    try {
      const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
      const connection = new RecordingConnection('D0000100', 'tcp');
      a.connections.attach({ kind: 'device', deviceId: 'D0000100', prototypeId: 'P0000001' }, connection);
      await vi.waitFor(async () => expect((await b.gateway.online(['D0000100'])).size).toBe(1), { timeout: 10_000 });
      const presence = await b.link.commands.hgetall(keys.presence('D0000100'));
      expect(presence).toMatchObject({ node: a.gateway.nodeId, protocol: 'tcp' });
      expect(Number(await b.link.commands.pttl(keys.presence('D0000100')))).toBeLessThanOrEqual(ttl);
      expect(await b.link.commands.exists(keys.node(a.gateway.nodeId))).toBe(1);

      // Refreshed every third of the TTL: still there after three TTLs.
      await new Promise((resolve) => setTimeout(resolve, 3 * ttl));
      expect((await b.gateway.online(['D0000100'])).get('D0000100')).toBe('tcp');

      // Node A dies without a word: it stops refreshing and stops listening.
      await a.gateway.die();
      const died = Date.now();
      // Its entries expire within the TTL of the last refresh (with room for a busy machine).
      await vi.waitFor(async () => expect(await b.link.commands.exists(keys.node(a.gateway.nodeId))).toBe(0), {
        timeout: 10_000,
        interval: 50,
      });
      await vi.waitFor(async () => expect((await b.gateway.online(['D0000100'])).size).toBe(0), {
        timeout: 10_000,
        interval: 50,
      });
      expect(Date.now() - died).toBeLessThan(2 * ttl + 2000);
    } finally {
      await cluster.close();
    }
  });

  it('answers a command for a device of a node that is gone at once, and drops the entry naming it', async () => {
    const cluster = await redisNodes(2, 60_000);
    try {
      const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
      a.connections.attach(
        { kind: 'device', deviceId: 'D0000110', prototypeId: 'P0000001' },
        new RecordingConnection('D0000110', 'tcp'),
      );
      await vi.waitFor(async () => expect((await b.gateway.online(['D0000110'])).size).toBe(1), { timeout: 10_000 });
      // Node A dies without a word, long before its entries would expire.
      await a.gateway.die();
      const result = await b.gateway.send('D0000110', fotaCommand);
      expect(result).toEqual({ taken: false, reason: `node ${a.gateway.nodeId}, which held the device, is gone` });
      expect((await b.gateway.online(['D0000110'])).size).toBe(0);
      expect(await b.link.commands.exists(keys.presence('D0000110'))).toBe(0);
    } finally {
      await cluster.close();
    }
  });

  it('answers not taken when the holding node does not answer in time', async () => {
    const cluster = await redisNodes(2);
    try {
      const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
      // An entry naming a node that listens but never answers: a subscriber of its request channel.
      const silent = await RedisLink.open(inject('redisUrl'), 'silent-node', fail);
      const requests: string[] = [];
      await silent.subscribe(channels.requests('silent-node'), (message) => void requests.push(message));
      await a.link.commands.hset(keys.presence('D0000200'), { node: 'silent-node', protocol: 'mqtt', since: 1 });
      const started = Date.now();
      const result = await b.gateway.send('D0000200', fotaCommand);
      expect(result).toEqual({ taken: false, reason: 'node silent-node did not answer within 5000 ms' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
      // The request is marked given up: the node, should it wake up, can no longer claim it.
      const { id } = JSON.parse(requests[0]!) as { id: string };
      expect(await silent.commands.set(keys.request(id), 'mqtt', 'PX', 60_000, 'NX')).toBeNull();
      expect(await silent.commands.get(keys.request(id))).toBe('abandoned');
      await silent.close();
    } finally {
      await cluster.close();
    }
  });

  it('sends to the node a device reconnected to while the one that held it did not answer', async () => {
    const cluster = await redisNodes(2);
    try {
      const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
      const hung = await RedisLink.open(inject('redisUrl'), 'hung-node', fail);
      await hung.subscribe(channels.requests('hung-node'), () => undefined);
      await a.link.commands.hset(keys.presence('D0000220'), { node: 'hung-node', protocol: 'tcp', since: 1 });
      const sending = b.gateway.send('D0000220', fotaCommand);
      // While B waits for the hung node, the device reconnects to A.
      const connection = new RecordingConnection('D0000220', 'mqtt');
      a.connections.attach({ kind: 'device', deviceId: 'D0000220', prototypeId: 'P0000001' }, connection);
      expect(await sending).toEqual({ taken: true, protocol: 'mqtt' });
      expect(connection.sent).toEqual([fotaCommand]);
      await hung.close();
    } finally {
      await cluster.close();
    }
  });

  it('answers taken when the holding node claimed the request but its answer never came', async () => {
    const cluster = await redisNodes(2);
    try {
      const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
      // A node that claims the request, as before writing, then dies before it answers.
      const mute = await RedisLink.open(inject('redisUrl'), 'mute-node', fail);
      await mute.subscribe(channels.requests('mute-node'), (message) => {
        const { id } = JSON.parse(message) as { id: string };
        void mute.commands.set(keys.request(id), 'tcp', 'PX', 60_000, 'NX');
      });
      await a.link.commands.hset(keys.presence('D0000210'), { node: 'mute-node', protocol: 'tcp', since: 1 });
      expect(await b.gateway.send('D0000210', fotaCommand)).toEqual({ taken: true, protocol: 'tcp' });
      await mute.close();
    } finally {
      await cluster.close();
    }
  });
});

const fotaCommand = {
  kind: 'fota',
  pushId: 'U0000001',
  firmwareId: 'F0000001',
  timestamp: 1,
  version: '1.0.1',
  size: 3,
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  url: 'http://127.0.0.1/fw/p/token',
} as const;
