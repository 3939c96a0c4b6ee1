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

/**
 * How long a request given up on stays marked `abandoned`: a node that hung for less than this and
 * finds it on waking writes nothing (past it, Redis has long dropped a subscriber that far behind).
 */
const ABANDONED_MS = 3_600_000;

/**
 * Writes the presence entry of a device that came online on this node (ARGV: node, protocol,
 * since, TTL in ms) and returns the node that held it before, if any.
 */
const CLAIM = `
local previous = redis.call('HGET', KEYS[1], 'node')
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'protocol', ARGV[2], 'since', ARGV[3], 'seen', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return previous`;

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
  /**
   * The sending node took the device over with a newer connection over this protocol (its old one
   * here was still attached): only the connections over it close, and they are no offline.
   */
  readonly takenOver?: Protocol;
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
  /** Requests waiting for their answer: the holder's result, or why none came. */
  private readonly pending = new Map<string, (result: SendResult | string) => void>();
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

  /**
   * Sends through the node holding the device. A command its node did not take (the device left
   * it, the node is gone or did not answer in time) goes once more to the node that holds the
   * device by then, if another: a device that reconnected elsewhere meanwhile still gets it.
   */
  async send(deviceId: string, command: DeviceCommand): Promise<SendResult> {
    let tried: { readonly holder: string; readonly result: SendResult } | undefined;
    for (;;) {
      if (this.options.local.current(deviceId)) return this.options.local.send(deviceId, command);
      const holder = await this.options.link.commands.hget(keys.presence(deviceId), 'node');
      if (holder === null || holder === this.nodeId) {
        return tried?.result ?? { taken: false, reason: 'the device is not connected' };
      }
      if (tried?.holder === holder) return tried.result;
      const result = await this.request(holder, deviceId, command);
      if (result.taken || tried !== undefined) return result;
      tried = { holder, result };
    }
  }

  /**
   * One request to the holding node, answered by it or settled here: a node that does not answer
   * in time may still be alive (paused, overloaded), so the request is settled in Redis first
   * (`fota:request:<id>`, set once by whoever comes first: the holder before it writes, or this
   * node as it gives up). A late holder then drops it: a command is written at most once.
   */
  private async request(holder: string, deviceId: string, command: DeviceCommand): Promise<SendResult> {
    const { link, requestTimeoutMs } = this.options;
    const request: SendRequest = { id: randomUUID(), from: this.nodeId, deviceId, command };
    let settle: (reason: string) => void = () => undefined;
    const answered = new Promise<SendResult | string>((resolve) => {
      const timer = setTimeout(
        () => settle(`node ${holder} did not answer within ${requestTimeoutMs} ms`),
        requestTimeoutMs,
      );
      const done = (result: SendResult | string) => {
        clearTimeout(timer);
        this.pending.delete(request.id);
        resolve(result);
      };
      settle = done;
      this.pending.set(request.id, done);
    });
    const listeners = await link.publish(channels.requests(holder), JSON.stringify(request));
    if (listeners === 0) {
      // The node is gone (its connection to Redis closed) and nobody got the request; its entry
      // has not expired yet: drop it, so that the device no longer looks connected.
      const reason = `node ${holder}, which held the device, is gone`;
      settle(reason);
      await link.commands.eval(RELEASE, 1, keys.presence(deviceId), holder);
      return { taken: false, reason };
    }
    const outcome = await answered;
    if (typeof outcome !== 'string') return outcome;
    const abandoned = await link.commands.set(keys.request(request.id), 'abandoned', 'PX', ABANDONED_MS, 'NX');
    if (abandoned === 'OK') return { taken: false, reason: outcome };
    // The holder took the request before this node gave up; its answer was lost or is late.
    const protocol = await link.commands.get(keys.request(request.id));
    return isProtocol(protocol) ? { taken: true, protocol } : { taken: false, reason: outcome };
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
    for (const settle of this.pending.values()) settle('this node is stopping');
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
          const previous = await link.commands.eval(
            CLAIM,
            1,
            keys.presence(event.deviceId),
            this.nodeId,
            event.protocol,
            String(event.at.getTime()),
            String(presenceTtlMs),
          );
          // Another node still held the device over TCP (its old socket there half-open): it closes
          // that one. Over MQTT, a client id's older session is closed by the brokers' shared
          // persistence, and another client of the device on another node is left alone.
          if (event.protocol === 'tcp' && typeof previous === 'string' && previous !== this.nodeId) {
            this.broadcast({
              from: this.nodeId,
              deviceId: event.deviceId,
              reason: 'replaced by a newer connection of the same device on another node',
              forget: false,
              takenOver: event.protocol,
            });
          }
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

  /**
   * A request from another node: hand the command to the local connection and say how it went.
   * The request is claimed in Redis first; one its sender gave up on is dropped unwritten.
   */
  private answer(message: string): void {
    const request = JSON.parse(message) as SendRequest;
    const { link, local, requestTimeoutMs } = this.options;
    // Long enough for the sender to read it after its timeout.
    const ttl = 2 * requestTimeoutMs;
    const reply = (result: SendResult) =>
      link.publish(channels.replies(request.from), JSON.stringify({ id: request.id, result } satisfies SendReply));
    void (async () => {
      const connection = local.current(request.deviceId);
      if (!connection) return reply({ taken: false, reason: 'the device is not connected' });
      const claimed = await link.commands.set(keys.request(request.id), connection.protocol, 'PX', ttl, 'NX');
      if (claimed !== 'OK') return; // the sender gave up on it
      return reply(await local.send(request.deviceId, request.command));
    })().catch(this.options.onError);
  }

  private replied(message: string): void {
    const reply = JSON.parse(message) as SendReply;
    this.pending.get(reply.id)?.(reply.result);
  }

  private disconnected(message: string): void {
    const notice = JSON.parse(message) as DisconnectNotice;
    if (notice.from === this.nodeId) return;
    if (notice.takenOver !== undefined) {
      this.takenOver(notice).catch(this.options.onError);
      return;
    }
    if (notice.forget) this.options.local.forget(notice.deviceId);
    else this.options.local.disconnect(notice.deviceId, notice.reason);
  }

  /**
   * Drops this node's old connection of a device another node took over, unless the device came
   * back here since (this node holds its entry again).
   */
  private async takenOver(notice: DisconnectNotice): Promise<void> {
    const { local, link } = this.options;
    if (notice.takenOver === undefined || local.current(notice.deviceId) === undefined) return;
    const holder = await link.commands.hget(keys.presence(notice.deviceId), 'node');
    if (holder !== notice.from) return;
    local.takenOver(notice.deviceId, notice.takenOver, notice.reason);
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
