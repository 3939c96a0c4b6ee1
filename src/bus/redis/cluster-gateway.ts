import { randomUUID } from 'node:crypto';
import type { EventBus } from '../../domain/events.js';
import type { DeviceGateway, SendResult } from '../../domain/gateway.js';
import { protocols, type DeviceCommand, type Presence, type Protocol } from '../../domain/model.js';
import type { DeviceConnections } from '../../domain/services/connections.js';
import { channels, keys } from './keys.js';
import type { RedisLink } from './link.js';

export interface ClusterGatewayOptions {
  /** This node's connections. */
  readonly local: DeviceConnections;
  /** This node's bus, where its own connections announce `device.online` and `device.offline`. */
  readonly events: EventBus;
  readonly link: RedisLink;
  /** A presence entry or node liveness not refreshed for this long expires. */
  readonly presenceTtlMs: number;
  /** How long `send` waits for the node holding the device to answer. */
  readonly requestTimeoutMs: number;
  readonly onError: (error: unknown) => void;
}

/** Refreshes are written this many devices per round trip. */
const REFRESH_BATCH = 500;
/** Devices looked up in Redis per round trip by `online`. */
const LOOKUP_BATCH = 1000;

/**
 * Claims the presence entries of devices this node holds (KEYS) unless another node holds the
 * entry (a newer connection there): ARGV is the node, the TTL in ms, then protocol, since and last
 * seen for each key.
 */
const REFRESH = `
for i, key in ipairs(KEYS) do
  local holder = redis.call('HGET', key, 'node')
  if holder == false or holder == ARGV[1] then
    local at = 3 * i
    redis.call('HSET', key, 'node', ARGV[1], 'protocol', ARGV[at], 'since', ARGV[at + 1], 'seen', ARGV[at + 2])
    redis.call('PEXPIRE', key, ARGV[2])
  end
end
return 0`;

/** Deletes a presence entry only if this node (ARGV[1]) holds it. */
const RELEASE = `
if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** A device connected to another node, as its presence entry says. */
interface HeldElsewhere {
  readonly protocol: Protocol;
  readonly since: Date | undefined;
  readonly lastSeen: Date | undefined;
}

interface SendRequest {
  readonly id: string;
  readonly from: string;
  readonly deviceId: string;
  readonly command: DeviceCommand;
}

interface SendReply {
  readonly id: string;
  readonly result: SendResult;
}

interface DisconnectNotice {
  readonly from: string;
  readonly deviceId: string;
  readonly reason: string;
  /** The device was deleted: forget it, not only close its connections. */
  readonly forget: boolean;
}

/**
 * The device gateway of a cluster of nodes sharing Redis. A device's connection lives on one node;
 * its presence entry in Redis (`fota:presence:<id>`, a hash of node, protocol, since and last seen)
 * says which. `send` goes to the local connection when this node holds the device, otherwise to the
 * holding node's request channel, and waits for its answer (whether a connection took the command)
 * at most `requestTimeoutMs`. Each node refreshes its entries and its liveness key
 * (`fota:node:<id>`) every third of `presenceTtlMs`, so the entries of a node that dies expire
 * within that TTL. Only Redis pub/sub and keys with TTLs: no protocol of our own between nodes.
 */
export class ClusterGateway implements DeviceGateway {
  private readonly pending = new Map<string, (result: SendResult) => void>();
  private readonly stops: Array<() => void | Promise<void>> = [];
  private refresher: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  private constructor(private readonly options: ClusterGatewayOptions) {}

  get nodeId(): string {
    return this.options.link.nodeId;
  }

  /** Subscribes to this node's channels and starts refreshing its presence. */
  static async start(options: ClusterGatewayOptions): Promise<ClusterGateway> {
    const gateway = new ClusterGateway(options);
    await gateway.listen();
    return gateway;
  }

  async send(deviceId: string, command: DeviceCommand): Promise<SendResult> {
    if (this.options.local.current(deviceId)) return this.options.local.send(deviceId, command);
    const holder = await this.options.link.commands.hget(keys.presence(deviceId), 'node');
    if (holder === null || holder === this.nodeId) return { taken: false, reason: 'the device is not connected' };
    const request: SendRequest = { id: randomUUID(), from: this.nodeId, deviceId, command };
    const { requestTimeoutMs } = this.options;
    const answered = new Promise<SendResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(request.id);
        resolve({ taken: false, reason: `node ${holder} did not answer within ${requestTimeoutMs} ms` });
      }, requestTimeoutMs);
      this.pending.set(request.id, (result) => {
        clearTimeout(timer);
        this.pending.delete(request.id);
        resolve(result);
      });
    });
    const listeners = await this.options.link.publish(channels.requests(holder), JSON.stringify(request));
    if (listeners === 0) {
      // The node is gone; its entry has not expired yet.
      this.pending.get(request.id)?.({ taken: false, reason: `node ${holder}, which held the device, is gone` });
    }
    return answered;
  }

  async online(deviceIds: readonly string[]): Promise<ReadonlyMap<string, Protocol>> {
    const online = new Map<string, Protocol>();
    const elsewhere: string[] = [];
    for (const deviceId of deviceIds) {
      const live = this.options.local.current(deviceId);
      if (live) online.set(deviceId, live.protocol);
      else elsewhere.push(deviceId);
    }
    for (const [deviceId, { protocol }] of await this.heldElsewhere(elsewhere)) online.set(deviceId, protocol);
    return online;
  }

  async presenceOf(deviceIds: readonly string[]): Promise<ReadonlyMap<string, Presence>> {
    const presence = new Map<string, Presence>();
    const elsewhere: string[] = [];
    for (const deviceId of deviceIds) {
      const here = this.options.local.presence(deviceId);
      presence.set(deviceId, here);
      if (!here.online) elsewhere.push(deviceId);
    }
    if (elsewhere.length === 0) return presence;
    for (const [deviceId, held] of await this.heldElsewhere(elsewhere)) {
      presence.set(deviceId, { online: true, protocol: held.protocol, since: held.since, lastSeen: held.lastSeen });
    }
    return presence;
  }

  /** The presence entries of the devices among `deviceIds` that another node holds, LOOKUP_BATCH per round trip. */
  private async heldElsewhere(deviceIds: readonly string[]): Promise<Map<string, HeldElsewhere>> {
    const held = new Map<string, HeldElsewhere>();
    for (let start = 0; start < deviceIds.length; start += LOOKUP_BATCH) {
      const batch = deviceIds.slice(start, start + LOOKUP_BATCH);
      const pipeline = this.options.link.commands.pipeline();
      for (const deviceId of batch) pipeline.hmget(keys.presence(deviceId), 'node', 'protocol', 'since', 'seen');
      const answers = (await pipeline.exec()) ?? [];
      batch.forEach((deviceId, index) => {
        const [error, fields] = answers[index] ?? [];
        if (error) throw error;
        const [node, protocol, since, seen] = (fields as Array<string | null> | undefined) ?? [];
        if (!node || node === this.nodeId || !isProtocol(protocol)) return;
        const connected = dateOf(since);
        held.set(deviceId, { protocol, since: connected, lastSeen: dateOf(seen) ?? connected });
      });
    }
    return held;
  }

  disconnect(deviceId: string, reason: string): void {
    this.options.local.disconnect(deviceId, reason);
    this.broadcast({ from: this.nodeId, deviceId, reason, forget: false });
  }

  /** Drops a deleted device on every node, closing its connections. */
  forget(deviceId: string): void {
    this.options.local.forget(deviceId);
    this.broadcast({ from: this.nodeId, deviceId, reason: 'device deleted', forget: true });
  }

  /** Writes this node's presence entries and liveness now (also done every third of the TTL). */
  refresh(): Promise<void> {
    this.refreshing ??= this.writePresence().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Stops answering and refreshing, and removes this node's liveness and presence entries. */
  async stop(): Promise<void> {
    clearInterval(this.refresher);
    for (const stop of this.stops.splice(0).reverse()) await stop();
    for (const resolve of this.pending.values()) resolve({ taken: false, reason: 'this node is stopping' });
    await this.refreshing;
    const { link } = this.options;
    const pipeline = link.commands.pipeline();
    for (const { deviceId } of this.options.local.live())
      pipeline.eval(RELEASE, 1, keys.presence(deviceId), this.nodeId);
    pipeline.del(keys.node(this.nodeId));
    await pipeline.exec();
  }

  /** For tests of a node that dies: stops refreshing and listening, and leaves its entries to expire. */
  async die(): Promise<void> {
    clearInterval(this.refresher);
    for (const stop of this.stops.splice(0).reverse()) await stop();
    await this.refreshing;
  }

  private async listen(): Promise<void> {
    const { link, events, presenceTtlMs, onError } = this.options;
    this.stops.push(await link.subscribe(channels.requests(this.nodeId), (message) => this.answer(message)));
    this.stops.push(await link.subscribe(channels.replies(this.nodeId), (message) => this.replied(message)));
    this.stops.push(await link.subscribe(channels.disconnect, (message) => this.disconnected(message)));
    this.stops.push(
      events.subscribe(async (event) => {
        if (event.type === 'device.online') {
          await link.commands
            .multi()
            .hset(keys.presence(event.deviceId), {
              node: this.nodeId,
              protocol: event.protocol,
              since: event.at.getTime(),
              seen: event.at.getTime(),
            })
            .pexpire(keys.presence(event.deviceId), presenceTtlMs)
            .exec();
        } else if (event.type === 'device.offline') {
          await link.commands.eval(RELEASE, 1, keys.presence(event.deviceId), this.nodeId);
        }
      }),
    );
    await this.refresh();
    this.refresher = setInterval(() => this.refresh().catch(onError), Math.max(50, Math.floor(presenceTtlMs / 3)));
    this.refresher.unref();
  }

  private async writePresence(): Promise<void> {
    const { link, presenceTtlMs } = this.options;
    await link.commands.set(keys.node(this.nodeId), String(Date.now()), 'PX', presenceTtlMs);
    let batch: Array<{ deviceId: string; protocol: Protocol; since: Date; lastSeen: Date }> = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const args = batch.flatMap(({ protocol, since, lastSeen }) => [
        protocol,
        String(since.getTime()),
        String(lastSeen.getTime()),
      ]);
      await link.commands.eval(
        REFRESH,
        batch.length,
        ...batch.map(({ deviceId }) => keys.presence(deviceId)),
        this.nodeId,
        String(presenceTtlMs),
        ...args,
      );
      batch = [];
    };
    for (const live of this.options.local.live()) {
      batch.push(live);
      if (batch.length >= REFRESH_BATCH) await flush();
    }
    await flush();
  }

  /** A request from another node: hand the command to the local connection and say how it went. */
  private answer(message: string): void {
    const request = JSON.parse(message) as SendRequest;
    void this.options.local
      .send(request.deviceId, request.command)
      .then((result) => {
        const reply: SendReply = { id: request.id, result };
        return this.options.link.publish(channels.replies(request.from), JSON.stringify(reply));
      })
      .catch(this.options.onError);
  }

  private replied(message: string): void {
    const reply = JSON.parse(message) as SendReply;
    this.pending.get(reply.id)?.(reply.result);
  }

  private disconnected(message: string): void {
    const notice = JSON.parse(message) as DisconnectNotice;
    if (notice.from === this.nodeId) return;
    if (notice.forget) this.options.local.forget(notice.deviceId);
    else this.options.local.disconnect(notice.deviceId, notice.reason);
  }

  private broadcast(notice: DisconnectNotice): void {
    this.options.link.publish(channels.disconnect, JSON.stringify(notice)).catch(this.options.onError);
  }
}

/** A time in ms as Redis holds it, or undefined when absent or not a number. */
const dateOf = (value: string | null | undefined): Date | undefined => {
  const ms = value === null || value === undefined ? NaN : Number(value);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
};

const isProtocol = (value: string | null | undefined): value is Protocol =>
  value !== null && value !== undefined && (protocols as readonly string[]).includes(value);
