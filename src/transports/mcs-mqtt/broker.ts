import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { REFUSAL_DELAY_MS, type FailureThrottle } from '../../net/auth-throttle.js';
import type { SocketBudget } from '../../net/socket-budget.js';
import { peerAddress, peerLabel } from '../../net/peer.js';
import { acceptProxyHeaders, type ProxyProtocolSetting } from '../../net/proxy-gate.js';
import {
  Aedes,
  type AedesPublishPacket,
  type Client,
  type ConnectPacket,
  type PublishPacket,
  type Subscription,
} from 'aedes';
import type { FastifyBaseLogger } from 'fastify';
import { isDomainError } from '../../domain/errors.js';
import type { EventBus } from '../../domain/events.js';
import type { DeviceConnections } from '../../domain/services/connections.js';
import type { DataPointService } from '../../domain/services/data-points.js';
import type { DeviceSelfService } from '../../domain/services/device-self.js';
import { memoryBrokerState, redisBrokerState, type BrokerState } from './broker-state.js';
import { ClientSession, type Authenticate } from './client-session.js';
import { MqttDeviceConnection } from './device-connection.js';
import { guardPacketSize } from './packet-size-guard.js';
import { DEFAULT_SESSION_QUEUE, type SessionQueueLimits } from './session-queue.js';
import { parseDataPointPayload } from './payload-parser.js';
import { FOTA_CHANNEL, deviceOfFilter, isUnder, parsePublishTopic, redactTopic } from './topics.js';

export interface MqttBrokerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly deviceSelf: Pick<DeviceSelfService, 'authenticate'>;
  readonly connections: Pick<DeviceConnections, 'attach' | 'detach' | 'touch'>;
  readonly dataPoints: Pick<DataPointService, 'ingest'>;
  /** Where acknowledgements of commands go. */
  readonly events: EventBus;
  readonly logger: FastifyBaseLogger;
  /** Device sockets shared with the TCP command server; none means no limit but the process's. */
  readonly budget?: SocketBudget | undefined;
  /** The largest packet a client may send; a header that declares more drops the socket at once. */
  readonly maxPacketBytes?: number | undefined;
  /** A client that has not proved a device's id and key for this long is closed. */
  readonly identifyTimeoutMs?: number | undefined;
  /** Failed authentication per source address, shared with the other surfaces. */
  readonly throttle?: FailureThrottle | undefined;
  /**
   * The Redis that the nodes of a cluster share: the brokers keep their sessions there and route
   * their messages through it, and act as one broker. Undefined: everything stays in this process.
   */
  readonly redisUrl?: string | undefined;
  /** What a persistent session keeps for its client (count and age); by default `DEFAULT_SESSION_QUEUE`. */
  readonly sessionQueue?: SessionQueueLimits | undefined;
  /** Topic filters one client may hold; past it a SUBSCRIBE gets the failure code for the new ones. */
  readonly maxSubscriptions?: number | undefined;
  /** Set: connections from the trusted balancers start with a PROXY header (`FOTA_PROXY_PROTOCOL`). */
  readonly proxyProtocol?: ProxyProtocolSetting | undefined;
}

/** MCS packets are tiny: five data points of at most 1 KiB each fit, a firmware never passes here. */
export const DEFAULT_MQTT_MAX_PACKET_BYTES = 8192;
export const DEFAULT_MQTT_IDENTIFY_TIMEOUT_MS = 30_000;
/** An MCS client subscribes `mcs/ID/KEY/+`; one filter per data channel still fits. */
export const DEFAULT_MQTT_MAX_SUBSCRIPTIONS = 100;

export interface MqttBroker {
  /** The port it listens on. */
  port(): number;
  /** Disconnects every client and stops listening. */
  close(): Promise<void>;
  /** Clients connected now (CONNECT accepted). */
  clientCount(): number;
}

/** Where refused publishes are sent: a topic no client may subscribe to, so they reach nobody. */
const REFUSED_TOPIC = '$fota/refused';
/** The granted QoS aedes records for a refused subscription (the SUBACK failure code 0x80). */
const SUBACK_FAILURE = 0x80;
const OWN_PREFIX = 'only the device’s own mcs/:deviceId/:deviceKey/… topics are allowed';

/**
 * The MQTT adapter: an embedded MQTT 3.1 / 3.1.1 broker (aedes) where the deviceId and deviceKey
 * inside a topic are the credentials. A client acts for the first device whose id and key it
 * proves, and only under that device's prefix: other subscriptions get a failure code, other
 * publishes are acknowledged as MQTT demands and dropped. A client subscribed under its prefix is
 * the device's MQTT connection; data points it publishes are ingested; FOTA commands go to it.
 */
export async function startMqttBroker(options: MqttBrokerOptions): Promise<MqttBroker> {
  const adapter = new MqttAdapter(options, options.logger.child({ component: 'mqtt' }));
  const onPuback = (client: Client, messageId: number) => adapter.acknowledged(client, messageId);
  const queue = options.sessionQueue ?? DEFAULT_SESSION_QUEUE;
  const state: BrokerState = options.redisUrl
    ? await redisBrokerState(
        options.redisUrl,
        onPuback,
        (error) => adapter.logger.error({ err: error }, 'MQTT broker Redis error'),
        queue,
      )
    : memoryBrokerState(onPuback, queue);
  let aedes: Aedes;
  try {
    aedes = await Aedes.createBroker({
      persistence: state.persistence,
      ...(state.mq ? { mq: state.mq } : {}),
      // A clean session's client id gets a unique suffix below; the original may be longer than MQTT 3.1's 23.
      maxClientsIdLength: 256,
      preConnect: (client, packet, callback) => adapter.connecting(client, packet, callback),
      authorizeSubscribe: (client, subscription, callback) => {
        void adapter.authorizeSubscription(client, subscription).then(
          (allowed) => callback(null, allowed ? subscription : null),
          () => callback(null, null),
        );
      },
      authorizePublish: (client, packet, callback) => {
        void adapter.authorizePublication(client, packet).then(
          (accepted) => {
            if (!accepted) dropped(packet);
            callback(null);
          },
          () => {
            dropped(packet);
            callback(null);
          },
        );
      },
      authorizeForward: (client, packet) => adapter.forward(client, packet),
    });
  } catch (error) {
    await state.close().catch(() => undefined);
    throw error;
  }
  aedes.on('subscribe', (subscriptions, client) => adapter.subscribed(client, subscriptions));
  aedes.on('unsubscribe', (filters, client) => adapter.unsubscribed(client, filters));
  aedes.on('clientReady', (client) => adapter.ready(client));
  aedes.on('ping', (_packet, client) => adapter.seen(client));
  aedes.on('clientError', (client, error) => adapter.clientError(client, error));
  aedes.on('connectionError', (client, error) => adapter.clientError(client, error));
  // aedes's typings list its own events only; it emits `error` too (persistence failures).
  const emitter: EventEmitter = aedes;
  emitter.on('error', (error: unknown) => adapter.logger.error({ err: error }, 'MQTT broker error'));

  const sockets = new Set<Socket>();
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MQTT_MAX_PACKET_BYTES;
  const server = createServer((socket) => {
    if (options.budget && !options.budget.admit(socket)) return;
    sockets.add(socket);
    socket.setNoDelay(true);
    guardPacketSize(socket, maxPacketBytes, () =>
      adapter.logger.info(
        { remote: remoteOf(socket), maxPacketBytes },
        'MQTT client dropped: a packet larger than FOTA_MQTT_MAX_PACKET_BYTES',
      ),
    );
    const client = aedes.handle(socket);
    adapter.awaitIdentity(client, socket);
    socket.once('close', () => {
      sockets.delete(socket);
      adapter.gone(client);
    });
  });
  if (options.proxyProtocol) {
    const gate = { ...options.proxyProtocol, logger: adapter.logger, listener: 'mqtt', screenDirect: true };
    acceptProxyHeaders(server, gate);
  }
  try {
    await listen(server, options.host, options.port);
  } catch (error) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await state.close().catch(() => undefined);
    throw error;
  }
  server.on('error', (error) => adapter.logger.error({ err: error }, 'MQTT listener error'));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  adapter.logger.info({ host: options.host, port }, 'MQTT broker listening');

  let closing: Promise<void> | undefined;
  return {
    port: () => port,
    clientCount: () => aedes.connectedClients,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        // Sockets that never sent CONNECT are not aedes clients yet.
        for (const socket of sockets) socket.destroy();
        await stopped;
        await state
          .close()
          .catch((error: unknown) => adapter.logger.error({ err: error }, 'MQTT broker state could not be closed'));
      })();
      return closing;
    },
  };
}

/** Sends a refused publish nowhere; MQTT 3.1.1 forbids telling the client except by disconnecting. */
function dropped(packet: PublishPacket): void {
  packet.topic = REFUSED_TOPIC;
  packet.payload = Buffer.alloc(0);
  packet.retain = false;
}

/** The client that published a routed packet, when the adapter marked it. */
const publishedBy = (packet: AedesPublishPacket): string | undefined =>
  (packet as AedesPublishPacket & { clientId?: string }).clientId;
const remoteOf = peerLabel;

async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A long accept queue for reconnect storms, as on the TCP command server.
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The broker's hooks: parse, authenticate, call one service, map the result. */
class MqttAdapter {
  private readonly sessions = new WeakMap<Client, ClientSession>();
  private readonly live = new WeakMap<Client, MqttDeviceConnection>();
  /** The socket of each client, and the timer that closes it unless it proves a device in time. */
  private readonly sockets = new WeakMap<Client, { socket: Socket; deadline: NodeJS.Timeout | undefined }>();
  private readonly authenticate: Authenticate;

  constructor(
    private readonly options: MqttBrokerOptions,
    readonly logger: FastifyBaseLogger,
  ) {
    this.authenticate = (deviceId, deviceKey) => options.deviceSelf.authenticate(deviceId, deviceKey);
  }

  /**
   * A clean session gets its own broker-side client id: the device is named by the topics, not the
   * client id, which MediaTek's clients (all clean) fix in firmware, so two devices with the same id
   * would otherwise take each other's place. A persistent session (clean=false, with a client id)
   * keeps its id: one session per id across every node, resumed by the next connection with that
   * id and clean=false, its subscriptions checked again against the device's key (see `ready`).
   */
  connecting(client: Client, packet: ConnectPacket, done: (error: Error | null, accepted: boolean) => void): void {
    // MQTT allows QoS 0, 1 and 2 only [MQTT-3.1.2-14]; the parser lets a will of QoS 3 through.
    if (packet.will && (packet.will.qos as number) > 2) {
      done(new Error('a will with QoS 3, which MQTT forbids'), false);
      return;
    }
    const entry = this.sockets.get(client);
    const address = entry && peerAddress(entry.socket);
    if (this.options.throttle && this.options.throttle.retryAfterMs(address) > 0) {
      // Refused before any credential is checked, after a delay that slows a guessing loop.
      setTimeout(() => done(new Error('too many failed authentications from this address'), false), REFUSAL_DELAY_MS);
      return;
    }
    this.sessions.set(client, new ClientSession(packet.clientId));
    // MQTT refuses a persistent session without a client id [MQTT-3.1.3-8]; MCS clients never ask for
    // one, so it is served as a clean session rather than refused.
    if (packet.clientId === '') packet.clean = true;
    if (packet.clean) packet.clientId = `${packet.clientId}#${randomUUID()}`;
    done(null, true);
  }

  /**
   * Starts the wait for the client to prove a device (a subscription or publish under the
   * device's prefix with the right key): until then it holds only a passing place in the socket
   * budget, and past the deadline it is closed.
   */
  awaitIdentity(client: Client, socket: Socket): void {
    const deadline = setTimeout(() => {
      this.logger.info({ remote: remoteOf(socket) }, 'MQTT client closed: no device identified in time');
      socket.destroy();
    }, this.options.identifyTimeoutMs ?? DEFAULT_MQTT_IDENTIFY_TIMEOUT_MS);
    deadline.unref();
    this.sockets.set(client, { socket, deadline });
  }

  /** The client proved a device: its socket keeps its place for as long as it stays. */
  private identified(client: Client): void {
    const entry = this.sockets.get(client);
    if (!entry || entry.deadline === undefined) return;
    clearTimeout(entry.deadline);
    entry.deadline = undefined;
    this.options.budget?.identified(entry.socket);
  }

  /**
   * Counts a failed proof against the client's address, then closes the client after a delay: a
   * guess costs the guesser a second and a connection.
   */
  private credentialsRefused(client: Client): void {
    const entry = this.sockets.get(client);
    this.options.throttle?.failed(entry && peerAddress(entry.socket));
    setTimeout(() => client.close(), REFUSAL_DELAY_MS).unref();
  }

  async authorizeSubscription(client: Client, subscription: Subscription): Promise<boolean> {
    const session = this.sessions.get(client);
    const device = deviceOfFilter(subscription.topic);
    if (!session || !device) return this.refuse('subscription', client, subscription.topic, OWN_PREFIX);
    try {
      const authorization = await session.authorize(device, this.authenticate);
      if (!authorization.ok) {
        if (authorization.credentialsRefused) this.credentialsRefused(client);
        return this.refuse('subscription', client, subscription.topic, authorization.reason);
      }
      this.identified(client);
      const max = this.options.maxSubscriptions ?? DEFAULT_MQTT_MAX_SUBSCRIPTIONS;
      if (!session.admit(subscription.topic, max)) {
        const reason = `a client may hold at most ${max} subscriptions (FOTA_MQTT_MAX_SUBSCRIPTIONS)`;
        return this.refuse('subscription', client, subscription.topic, reason);
      }
      return true;
    } catch (error) {
      this.logger.error({ err: error, clientId: session.clientId }, 'MQTT subscription check failed');
      return this.refuse('subscription', client, subscription.topic, 'the device could not be checked');
    }
  }

  /** True when the publish may be routed; data points are stored first. */
  async authorizePublication(client: Client | null, packet: PublishPacket): Promise<boolean> {
    const session = client ? this.sessions.get(client) : undefined;
    const topic = parsePublishTopic(packet.topic);
    if (!client || !session || !topic) return this.refuse('publish', client, packet.topic, OWN_PREFIX);
    try {
      const authorization = await session.authorize(topic, this.authenticate);
      if (!authorization.ok) {
        if (authorization.credentialsRefused) this.credentialsRefused(client);
        return this.refuse('publish', client, packet.topic, authorization.reason);
      }
      this.identified(client);
      const { device } = authorization;
      this.options.connections.touch(device.deviceId);
      if (topic.channelId === FOTA_CHANNEL) {
        this.logger.debug({ deviceId: device.deviceId }, 'MQTT publish to the FOTA topic by a device ignored');
        return false;
      }
      const parsed = parseDataPointPayload(packet.payload, topic.channelId);
      if (!parsed.ok) return this.refuse('publish', client, packet.topic, parsed.reason);
      await this.options.dataPoints.ingest(device.actor, device.deviceId, parsed.points);
      // aedes keeps an own `clientId` on the packets it routes: `forward` sends no upload back to its
      // publisher (MediaTek's C client, subscribed to its own `mcs/ID/KEY/+`, crashes on one).
      (packet as PublishPacket & { clientId?: string }).clientId = client.id;
      return true;
    } catch (error) {
      if (isDomainError(error) && error.code !== 'unavailable') {
        return this.refuse('publish', client, packet.topic, error.message);
      }
      this.logger.error({ err: error, clientId: session.clientId }, 'MQTT publish could not be handled');
      return false;
    }
  }

  /**
   * Only packets under the client's own prefix reach it, each with a message id chosen here, but
   * for those a persistent session queued while the client was away: they keep the id the
   * persistence recorded, which their PUBACK must name.
   */
  forward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const session = this.sessions.get(client);
    const device = session?.device;
    if (!session || !device || !isUnder(packet.topic, device)) return null;
    if (publishedBy(packet) === client.id) return null;
    if (packet.qos > 0) {
      if (typeof packet.messageId === 'number') session.resumed(packet.messageId);
      else {
        packet.messageId = session.nextMessageId();
        session.sent(packet.payload, packet.messageId);
      }
    }
    return packet;
  }

  acknowledged(client: Client, messageId: number): void {
    this.sessions.get(client)?.acknowledged(messageId)?.();
  }

  /** After the SUBACK: the first granted filter makes the client the device's MQTT connection. */
  subscribed(client: Client, subscriptions: readonly Subscription[]): void {
    const session = this.sessions.get(client);
    const device = session?.device;
    if (!session || !device) return;
    for (const subscription of subscriptions) {
      if ((subscription.qos as number) !== SUBACK_FAILURE && deviceOfFilter(subscription.topic))
        session.granted(subscription.topic, subscription.qos);
    }
    if (!session.subscribed || this.live.has(client) || client.closed) return;
    const connection = new MqttDeviceConnection(client, session, device, this.options.events, this.logger);
    this.live.set(client, connection);
    try {
      this.options.connections.attach(device.actor, connection);
      this.logger.info({ deviceId: device.deviceId, clientId: session.clientId }, 'device online over MQTT');
    } catch (error) {
      this.live.delete(client);
      this.logger.error({ err: error, deviceId: device.deviceId }, 'MQTT connection could not be attached');
    }
  }

  /**
   * CONNACK sent: a resumed persistent session has its subscriptions back (aedes restored them
   * after `authorizeSubscribe` checked each against the device's key again, which binds the client
   * to the device) without a SUBSCRIBE, so without a `subscribe` event: the client is the device's
   * connection now, as after a SUBACK.
   */
  ready(client: Client): void {
    const restored = (client as Client & { subscriptions?: Record<string, { qos: number }> }).subscriptions;
    const subscriptions = Object.entries(restored ?? {}).map(([topic, { qos }]) => ({ topic, qos }) as Subscription);
    if (subscriptions.length > 0) this.subscribed(client, subscriptions);
  }

  /** A client with no subscription left is no longer the device's connection. */
  unsubscribed(client: Client, filters: readonly string[]): void {
    const session = this.sessions.get(client);
    if (session?.revoked(filters)) this.detach(client);
  }

  seen(client: Client): void {
    const device = this.sessions.get(client)?.device;
    if (device) this.options.connections.touch(device.deviceId);
  }

  gone(client: Client): void {
    clearTimeout(this.sockets.get(client)?.deadline);
    this.detach(client);
  }

  clientError(client: Client, error: Error): void {
    const clientId = this.sessions.get(client)?.clientId ?? client.id;
    this.logger.info(
      { clientId, deviceId: this.sessions.get(client)?.device?.deviceId, reason: error.message },
      'MQTT client dropped',
    );
  }

  private detach(client: Client): void {
    const connection = this.live.get(client);
    if (!connection) return;
    this.live.delete(client);
    this.options.connections.detach(connection);
    this.logger.info(
      { deviceId: connection.deviceId, clientId: this.sessions.get(client)?.clientId },
      'MQTT connection closed',
    );
  }

  private refuse(what: 'subscription' | 'publish', client: Client | null, topic: string, reason: string): false {
    const clientId = client ? (this.sessions.get(client)?.clientId ?? client.id) : undefined;
    this.logger.warn({ clientId, topic: redactTopic(topic), reason }, `MQTT ${what} refused`);
    return false;
  }
}
