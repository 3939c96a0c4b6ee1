import { requireDevice } from '../access.js';
import type { EventBus } from '../events.js';
import type { DeviceConnection, DeviceGateway, SendResult } from '../gateway.js';
import { protocols, type Actor, type DeviceCommand, type Presence, type Protocol } from '../model.js';
import type { Clock } from '../ports.js';

interface DeviceState {
  readonly prototypeId: string;
  /** Live connections, newest last; at most one per protocol. */
  connections: DeviceConnection[];
  since: Date;
  lastSeen: Date;
  lastProtocol: Protocol;
}

const OFFLINE: Presence = { online: false, protocol: undefined, since: undefined, lastSeen: undefined };

/**
 * Who is online, over which protocol, since when, and the device gateway of this process. Transport
 * adapters attach a connection once the device proved its key, touch it on each heartbeat or
 * message, and detach it when it closes. A new connection of a device replaces its older one over
 * the same protocol, closing it, and is announced as `device.online` (the old one's end is not an
 * offline). Presence is per process; a cluster's gateway (src/bus/redis) adds the other
 * nodes' devices to `presenceOf`.
 */
export class DeviceConnections implements DeviceGateway {
  private readonly devices = new Map<string, DeviceState>();

  constructor(private readonly deps: { readonly events: EventBus; readonly clock: Clock }) {}

  attach(actor: Actor, connection: DeviceConnection): void {
    const device = requireDevice(actor, connection.deviceId);
    const now = this.deps.clock.now();
    let state = this.devices.get(device.deviceId);
    if (!state) {
      state = {
        prototypeId: device.prototypeId,
        connections: [],
        since: now,
        lastSeen: now,
        lastProtocol: connection.protocol,
      };
      this.devices.set(device.deviceId, state);
    }
    const wasOnline = state.connections.length > 0;
    const replaced = state.connections.filter((live) => live.protocol === connection.protocol);
    state.connections = [...state.connections.filter((live) => live.protocol !== connection.protocol), connection];
    state.lastSeen = now;
    state.lastProtocol = connection.protocol;
    for (const old of replaced) old.close('replaced by a newer connection of the same device');
    // A connection that takes over one of the same protocol (a device that rebooted before its
    // old socket was seen gone) is a new start for the device: what waits for it goes out now.
    if (!wasOnline || replaced.length > 0) {
      state.since = now;
      this.deps.events.publish({
        type: 'device.online',
        deviceId: device.deviceId,
        prototypeId: device.prototypeId,
        protocol: connection.protocol,
        at: now,
      });
    }
  }

  /** Forgets a connection that closed; the device goes offline when it was its last one. */
  detach(connection: DeviceConnection): void {
    const state = this.devices.get(connection.deviceId);
    if (!state || !state.connections.includes(connection)) return;
    state.connections = state.connections.filter((live) => live !== connection);
    if (state.connections.length === 0) {
      const now = this.deps.clock.now();
      state.since = now;
      this.deps.events.publish({
        type: 'device.offline',
        deviceId: connection.deviceId,
        prototypeId: state.prototypeId,
        protocol: connection.protocol,
        at: now,
      });
    }
  }

  /**
   * Another node took the device over with a newer connection over `protocol`: the ones here over
   * it are dropped and closed, without an offline (the device is online there).
   */
  takenOver(deviceId: string, protocol: Protocol, reason: string): void {
    const state = this.devices.get(deviceId);
    if (!state) return;
    const replaced = state.connections.filter((live) => live.protocol === protocol);
    if (replaced.length === 0) return;
    state.connections = state.connections.filter((live) => live.protocol !== protocol);
    if (state.connections.length === 0) state.since = this.deps.clock.now();
    for (const old of replaced) old.close(reason);
  }

  /** A heartbeat or a message: the device is still there. */
  touch(deviceId: string): void {
    const state = this.devices.get(deviceId);
    if (state) state.lastSeen = this.deps.clock.now();
  }

  /** The newest live connection of a device. */
  current(deviceId: string): DeviceConnection | undefined {
    return this.devices.get(deviceId)?.connections.at(-1);
  }

  async send(deviceId: string, command: DeviceCommand): Promise<SendResult> {
    const connection = this.current(deviceId);
    if (!connection) return { taken: false, reason: 'the device is not connected' };
    try {
      await connection.send(command);
      return { taken: true, protocol: connection.protocol };
    } catch (error) {
      return { taken: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  async online(deviceIds: readonly string[]): Promise<ReadonlyMap<string, Protocol>> {
    const online = new Map<string, Protocol>();
    for (const deviceId of deviceIds) {
      const live = this.current(deviceId);
      if (live) online.set(deviceId, live.protocol);
    }
    return online;
  }

  async presenceOf(deviceIds: readonly string[]): Promise<ReadonlyMap<string, Presence>> {
    return new Map(deviceIds.map((deviceId) => [deviceId, this.presence(deviceId)]));
  }

  disconnect(deviceId: string, reason: string): void {
    const state = this.devices.get(deviceId);
    if (!state) return;
    for (const live of [...state.connections]) live.close(reason);
  }

  presence(deviceId: string): Presence {
    const state = this.devices.get(deviceId);
    if (!state) return OFFLINE;
    const live = state.connections.at(-1);
    return {
      online: live !== undefined,
      protocol: live?.protocol ?? state.lastProtocol,
      since: state.since,
      lastSeen: state.lastSeen,
    };
  }

  /** Every device with a live connection here: its newest connection's protocol, since when, last seen. */
  *live(): Iterable<{
    readonly deviceId: string;
    readonly protocol: Protocol;
    readonly since: Date;
    readonly lastSeen: Date;
  }> {
    for (const [deviceId, state] of this.devices) {
      const live = state.connections.at(-1);
      if (live) yield { deviceId, protocol: live.protocol, since: state.since, lastSeen: state.lastSeen };
    }
  }

  /** How many devices are online over each protocol. */
  counts(): Record<Protocol, number> {
    const counts = Object.fromEntries(protocols.map((protocol) => [protocol, 0])) as Record<Protocol, number>;
    for (const state of this.devices.values()) {
      const live = state.connections.at(-1);
      if (live) counts[live.protocol]++;
    }
    return counts;
  }

  /** Drops what is known of a deleted device, closing its connections. */
  forget(deviceId: string): void {
    const state = this.devices.get(deviceId);
    if (!state) return;
    this.devices.delete(deviceId);
    for (const live of state.connections) live.close('device deleted');
  }

  /** Closes every connection, at shutdown. */
  closeAll(reason: string): void {
    for (const state of this.devices.values()) for (const live of [...state.connections]) live.close(reason);
  }
}
