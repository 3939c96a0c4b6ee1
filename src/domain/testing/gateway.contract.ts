import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DeviceConnection, DeviceGateway } from '../gateway.js';
import type { Actor, DeviceCommand, Protocol } from '../model.js';
import type { DeviceConnections } from '../services/connections.js';

/** One node of a cluster: its own connections, and its gateway, which answers for the whole cluster. */
export interface GatewayNode {
  readonly connections: DeviceConnections;
  readonly gateway: DeviceGateway;
}

export interface GatewayCluster {
  readonly nodes: readonly GatewayNode[];
  close(): Promise<void>;
}

/** A connection a transport would hold: records what it was sent and whether it was closed. */
export class RecordingConnection implements DeviceConnection {
  readonly sent: DeviceCommand[] = [];
  closedWith: string | undefined;
  failWith: string | undefined;

  constructor(
    readonly deviceId: string,
    readonly protocol: Protocol,
    private readonly onClose: (connection: RecordingConnection) => void = () => undefined,
  ) {}

  async send(command: DeviceCommand): Promise<void> {
    if (this.failWith !== undefined) throw new Error(this.failWith);
    this.sent.push(command);
  }

  close(reason: string): void {
    this.closedWith ??= reason;
    this.onClose(this);
  }
}

const deviceActor = (deviceId: string): Actor => ({ kind: 'device', deviceId, prototypeId: 'P0000001' });

const command = (pushId: string): DeviceCommand => ({
  kind: 'fota',
  pushId,
  firmwareId: 'F0000001',
  timestamp: 1_700_000_000_000,
  version: '1.0.1',
  size: 3,
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  url: 'http://127.0.0.1/fw/p/token',
});

/** What takes a moment across nodes (presence written, a notice delivered) is awaited, generously. */
const eventually = (assertion: () => Promise<void> | void) => vi.waitFor(assertion, { timeout: 15_000, interval: 20 });

/**
 * The DeviceGateway contract, for every implementation: `create(n)` makes a cluster of `n` nodes
 * (in one process, every node is the same one). A device connected on any node is reached, listed
 * online and disconnected from every node.
 */
export function gatewayContract(name: string, create: (nodeCount: number) => Promise<GatewayCluster>): void {
  describe(`DeviceGateway contract: ${name}`, () => {
    let cluster: GatewayCluster | undefined;
    afterEach(async () => {
      await cluster?.close();
      cluster = undefined;
    });

    const attach = (node: GatewayNode, deviceId: string, protocol: Protocol) => {
      const connection = new RecordingConnection(deviceId, protocol, (closed) => node.connections.detach(closed));
      node.connections.attach(deviceActor(deviceId), connection);
      return connection;
    };

    it('hands a command to the connection of a device on another node and says it was taken', async () => {
      cluster = await create(2);
      const [a, b] = cluster.nodes as [GatewayNode, GatewayNode];
      const connection = attach(a, 'D0000001', 'tcp');
      await eventually(async () => expect((await b.gateway.online(['D0000001'])).get('D0000001')).toBe('tcp'));
      expect(await b.gateway.send('D0000001', command('U1'))).toEqual({ taken: true, protocol: 'tcp' });
      expect(await a.gateway.send('D0000001', command('U2'))).toEqual({ taken: true, protocol: 'tcp' });
      expect(connection.sent.map((sent) => sent.pushId)).toEqual(['U1', 'U2']);
    });

    it('answers not taken, with a reason, for a device connected nowhere', async () => {
      cluster = await create(2);
      const result = await cluster.nodes[1]!.gateway.send('D0000404', command('U1'));
      expect(result.taken).toBe(false);
      expect(!result.taken && result.reason).toMatch(/not connected/);
    });

    it('answers not taken, with the connection’s reason, when the connection refuses the command', async () => {
      cluster = await create(2);
      const [a, b] = cluster.nodes as [GatewayNode, GatewayNode];
      const connection = attach(a, 'D0000002', 'mqtt');
      connection.failWith = 'the socket is gone';
      await eventually(async () => expect((await b.gateway.online(['D0000002'])).size).toBe(1));
      expect(await b.gateway.send('D0000002', command('U1'))).toEqual({ taken: false, reason: 'the socket is gone' });
    });

    it('lists online the devices of every node with their protocol, and only those', async () => {
      cluster = await create(2);
      const [a, b] = cluster.nodes as [GatewayNode, GatewayNode];
      attach(a, 'D0000010', 'tcp');
      attach(b, 'D0000011', 'mqtt');
      for (const node of [a, b]) {
        await eventually(async () =>
          expect([...(await node.gateway.online(['D0000010', 'D0000011', 'D0000012']))].sort()).toEqual([
            ['D0000010', 'tcp'],
            ['D0000011', 'mqtt'],
          ]),
        );
      }
    });

    it('gives the presence of a page of devices the same on every node, and offline once they left', async () => {
      cluster = await create(2);
      const [a, b] = cluster.nodes as [GatewayNode, GatewayNode];
      const connection = attach(a, 'D0000050', 'tcp');
      attach(b, 'D0000051', 'mqtt');
      const page = ['D0000050', 'D0000051', 'D0000052'];
      const since = (await a.gateway.presenceOf(page)).get('D0000050')?.since?.getTime();
      expect(since).toBeTypeOf('number');
      for (const node of [a, b]) {
        await eventually(async () => {
          const presence = await node.gateway.presenceOf(page);
          expect([...presence.keys()]).toEqual(page);
          expect(presence.get('D0000050')).toMatchObject({ online: true, protocol: 'tcp' });
          expect(presence.get('D0000050')?.since?.getTime()).toBe(since);
          expect(presence.get('D0000050')?.lastSeen).toBeInstanceOf(Date);
          expect(presence.get('D0000051')).toMatchObject({ online: true, protocol: 'mqtt' });
          expect(presence.get('D0000052')).toEqual({
            online: false,
            protocol: undefined,
            since: undefined,
            lastSeen: undefined,
          });
        });
      }
      a.connections.detach(connection);
      for (const node of [a, b]) {
        await eventually(async () =>
          expect((await node.gateway.presenceOf(['D0000050'])).get('D0000050')?.online).toBe(false),
        );
      }
    });

    it('forgets a device on every node once its connection closed', async () => {
      cluster = await create(2);
      const [a, b] = cluster.nodes as [GatewayNode, GatewayNode];
      const connection = attach(a, 'D0000020', 'tcp');
      await eventually(async () => expect((await b.gateway.online(['D0000020'])).size).toBe(1));
      a.connections.detach(connection);
      await eventually(async () => expect((await b.gateway.online(['D0000020'])).size).toBe(0));
      expect((await b.gateway.send('D0000020', command('U1'))).taken).toBe(false);
    });

    it('closes a device’s connections on whatever node, from any node', async () => {
      cluster = await create(2);
      const [a, b] = cluster.nodes as [GatewayNode, GatewayNode];
      const connection = attach(a, 'D0000030', 'tcp');
      const other = attach(a, 'D0000031', 'tcp');
      await eventually(async () => expect((await b.gateway.online(['D0000030'])).size).toBe(1));
      b.gateway.disconnect('D0000030', 'the device key was rotated');
      await eventually(() => expect(connection.closedWith).toBe('the device key was rotated'));
      await eventually(async () => expect((await b.gateway.online(['D0000030'])).size).toBe(0));
      expect(other.closedWith).toBeUndefined();
    });

    it('closes the old connection of a device that connected again over the same protocol, on whatever node', async () => {
      cluster = await create(2);
      const [a, b] = cluster.nodes as [GatewayNode, GatewayNode];
      // The device rebooted: its old socket on node A is still attached when it connects to B.
      const old = attach(a, 'D0000060', 'tcp');
      await eventually(async () => expect((await b.gateway.online(['D0000060'])).get('D0000060')).toBe('tcp'));
      const fresh = attach(b, 'D0000060', 'tcp');
      await eventually(() => expect(old.closedWith).toMatch(/^replaced by a newer connection of the same device/));
      for (const [index, node] of [a, b].entries()) {
        expect(await node.gateway.send('D0000060', command(`U${index}`))).toEqual({ taken: true, protocol: 'tcp' });
        expect((await node.gateway.presenceOf(['D0000060'])).get('D0000060')).toMatchObject({ online: true });
      }
      expect(fresh.sent.map((sent) => sent.pushId)).toEqual(['U0', 'U1']);
      expect(old.sent).toEqual([]);
      expect(fresh.closedWith).toBeUndefined();
    });

    it('sends to the newest connection of a device that moved to another node', async () => {
      cluster = await create(2);
      const [a, b] = cluster.nodes as [GatewayNode, GatewayNode];
      const old = attach(a, 'D0000040', 'tcp');
      await eventually(async () => expect((await b.gateway.online(['D0000040'])).get('D0000040')).toBe('tcp'));
      a.connections.detach(old);
      const moved = attach(b, 'D0000040', 'mqtt');
      await eventually(async () => expect((await a.gateway.online(['D0000040'])).get('D0000040')).toBe('mqtt'));
      expect(await a.gateway.send('D0000040', command('U1'))).toEqual({ taken: true, protocol: 'mqtt' });
      expect(moved.sent).toHaveLength(1);
      expect(old.sent).toHaveLength(0);
    });
  });
}
