import { isDomainError } from '../../domain/errors.js';
import type { Actor } from '../../domain/model.js';
import { filterMatches, type DeviceCredentials } from './topics.js';

export type DeviceActor = Extract<Actor, { kind: 'device' }>;

/** The device a client proved it is, with the key it proved it with. */
export interface BoundDevice extends DeviceCredentials {
  readonly actor: DeviceActor;
}

/** A refusal with `credentialsRefused` is a failed proof (unknown device or wrong key), to throttle. */
export type Authorization =
  | { readonly ok: true; readonly device: BoundDevice }
  | { readonly ok: false; readonly reason: string; readonly credentialsRefused?: true };

export type Authenticate = (deviceId: string, deviceKey: string) => Promise<DeviceActor>;

/**
 * What the broker knows of one MQTT client: the device it is bound to (the first id and key it
 * proved; a client never acts for two devices), the filters it was granted, and the message ids of
 * the FOTA commands it has yet to acknowledge. The broker assigns every message id it sends this
 * client, so that a PUBACK can be matched to a command.
 */
export class ClientSession {
  private bound: BoundDevice | undefined;
  private binding: Promise<void> | undefined;
  private lastMessageId = 0;
  /** Granted filters, all under the bound device's prefix, with their QoS. */
  private readonly filters = new Map<string, number>();
  /** Filters authorized, granted or about to be (a SUBACK follows the checks of all its filters). */
  private readonly admitted = new Set<string>();
  /** Callbacks of commands on their way out, by payload buffer (aedes keeps the same buffer). */
  private readonly awaitingMessageId = new Map<unknown, () => void>();
  private readonly awaitingPuback = new Map<number, () => void>();
  /** Message ids of packets a persistent session queued and resent on this connection, not yet acknowledged. */
  private readonly resent = new Set<number>();

  constructor(readonly clientId: string) {}

  get device(): BoundDevice | undefined {
    return this.bound;
  }

  /**
   * Whether the client may act for the device with this id and key. The first pair that
   * authenticates binds the client; while one is being checked, others wait for its outcome.
   */
  async authorize(credentials: DeviceCredentials, authenticate: Authenticate): Promise<Authorization> {
    while (!this.bound && this.binding) await this.binding;
    if (this.bound) return this.compare(credentials);
    const attempt = authenticate(credentials.deviceId, credentials.deviceKey);
    this.binding = attempt.then(
      () => undefined,
      () => undefined,
    );
    try {
      this.bound = { ...credentials, actor: await attempt };
      return { ok: true, device: this.bound };
    } catch (error) {
      if (isDomainError(error, 'not_found')) {
        return { ok: false, reason: `no device ${credentials.deviceId}`, credentialsRefused: true };
      }
      if (isDomainError(error, 'unauthenticated')) {
        return { ok: false, reason: `wrong key for device ${credentials.deviceId}`, credentialsRefused: true };
      }
      throw error;
    } finally {
      this.binding = undefined;
    }
  }

  private compare(credentials: DeviceCredentials): Authorization {
    const bound = this.bound!;
    if (credentials.deviceId !== bound.deviceId) {
      return { ok: false, reason: `the client acts for device ${bound.deviceId}, not ${credentials.deviceId}` };
    }
    if (credentials.deviceKey !== bound.deviceKey)
      return { ok: false, reason: `wrong key for device ${bound.deviceId}` };
    return { ok: true, device: bound };
  }

  /** Whether the client may hold `filter` too: one it holds already, or a new one below `max`. */
  admit(filter: string, max: number): boolean {
    if (this.admitted.has(filter)) return true;
    if (this.admitted.size >= max) return false;
    this.admitted.add(filter);
    return true;
  }

  granted(filter: string, qos: number): void {
    this.filters.set(filter, qos);
  }

  /** Forgets unsubscribed filters; true when none is left. */
  revoked(filters: readonly string[]): boolean {
    for (const filter of filters) {
      this.filters.delete(filter);
      this.admitted.delete(filter);
    }
    return this.filters.size === 0;
  }

  get subscribed(): boolean {
    return this.filters.size > 0;
  }

  /** The highest QoS among the granted filters that match the topic; undefined when none does. */
  grantedQos(topic: string): number | undefined {
    let best: number | undefined;
    for (const [filter, qos] of this.filters) {
      if (filterMatches(filter, topic) && (best === undefined || qos > best)) best = qos;
    }
    return best;
  }

  /** The next message id for a packet to this client, skipping those of unacknowledged commands. */
  nextMessageId(): number {
    do this.lastMessageId = (this.lastMessageId % 65535) + 1;
    while (this.awaitingPuback.has(this.lastMessageId) || this.resent.has(this.lastMessageId));
    return this.lastMessageId;
  }

  /** A packet queued by a persistent session leaves with the id it was stored with: not to be reused until acknowledged. */
  resumed(messageId: number): void {
    this.resent.add(messageId);
  }

  /** Runs `onDelivered` once the client acknowledges the packet that will carry `payload`. */
  expectPuback(payload: Buffer, onDelivered: () => void): void {
    this.awaitingMessageId.set(payload, onDelivered);
  }

  forget(payload: Buffer): void {
    this.awaitingMessageId.delete(payload);
  }

  /** The packet with this payload leaves with this message id. */
  sent(payload: unknown, messageId: number): void {
    const onDelivered = this.awaitingMessageId.get(payload);
    if (!onDelivered) return;
    this.awaitingMessageId.delete(payload);
    this.awaitingPuback.set(messageId, onDelivered);
  }

  /** The callback of the command this PUBACK acknowledges, if any, handed out once. */
  acknowledged(messageId: number): (() => void) | undefined {
    const onDelivered = this.awaitingPuback.get(messageId);
    this.awaitingPuback.delete(messageId);
    this.resent.delete(messageId);
    return onDelivered;
  }
}
