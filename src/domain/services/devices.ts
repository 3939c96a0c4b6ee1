import { mayReadDeviceKeys, requireRole } from '../access.js';
import { notFound } from '../errors.js';
import { newDeviceId, newDeviceKey } from '../ids.js';
import type { Actor, ChannelValue, Device, Presence } from '../model.js';
import type { ChannelValueRepository, Clock, DeviceRepository } from '../ports.js';
import type { DeviceGateway } from '../gateway.js';
import { limits, requireText } from '../text.js';
import type { PrototypeService } from './prototypes.js';

export interface DeviceInput {
  readonly name: string;
  readonly description?: string | undefined;
}

export type DevicePatch = Partial<DeviceInput>;

/** A device with what is known of it live: presence and the last value of each data channel. */
export interface DeviceOverview {
  readonly device: Device;
  readonly presence: Presence;
  readonly channels: readonly ChannelValue[];
}

export class DeviceService {
  constructor(
    private readonly deps: {
      readonly devices: DeviceRepository;
      readonly prototypes: PrototypeService;
      readonly channels: ChannelValueRepository;
      /** Where presence comes from, fleet-wide: the gateway, which also closes and forgets connections. */
      readonly connections: Pick<DeviceGateway, 'presenceOf' | 'disconnect'> & {
        forget(deviceId: string): void;
      };
      readonly clock: Clock;
    },
  ) {}

  async create(actor: Actor, prototypeId: string, input: DeviceInput): Promise<Device> {
    requireRole(actor, 'developer');
    const prototype = await this.deps.prototypes.require(prototypeId);
    const device: Device = {
      id: newDeviceId(),
      prototypeId: prototype.id,
      key: newDeviceKey(),
      name: requireText('name', input.name, limits.name),
      description: requireText('description', input.description ?? '', limits.description),
      reported: undefined,
      createdAt: this.deps.clock.now(),
    };
    await this.deps.devices.insert(device);
    return device;
  }

  async list(actor: Actor, prototypeId: string): Promise<Device[]> {
    requireRole(actor, 'viewer');
    await this.deps.prototypes.require(prototypeId);
    return (await this.deps.devices.listByPrototype(prototypeId)).map((device) => shownTo(actor, device));
  }

  async get(actor: Actor, id: string): Promise<Device> {
    requireRole(actor, 'viewer');
    return shownTo(actor, await this.require(id));
  }

  async overview(actor: Actor, id: string): Promise<DeviceOverview> {
    const device = await this.get(actor, id);
    return this.overviewOf(device, await this.deps.channels.list(id));
  }

  /** The devices of a prototype with their presence, looked up for the whole list at once. */
  async listOverviews(actor: Actor, prototypeId: string): Promise<DeviceOverview[]> {
    const devices = await this.list(actor, prototypeId);
    const [channels, presence] = await Promise.all([
      this.deps.channels.listByPrototype(prototypeId),
      this.deps.connections.presenceOf(devices.map((device) => device.id)),
    ]);
    return devices.map((device) => ({
      device,
      presence: presence.get(device.id) ?? OFFLINE,
      channels: channels.get(device.id) ?? [],
    }));
  }

  async overviewOf(device: Device, channels: readonly ChannelValue[]): Promise<DeviceOverview> {
    const presence = (await this.deps.connections.presenceOf([device.id])).get(device.id) ?? OFFLINE;
    return { device, presence, channels };
  }

  async update(actor: Actor, id: string, patch: DevicePatch): Promise<Device> {
    requireRole(actor, 'developer');
    const current = await this.require(id);
    const updated: Device = {
      ...current,
      name: patch.name === undefined ? current.name : requireText('name', patch.name, limits.name),
      description:
        patch.description === undefined
          ? current.description
          : requireText('description', patch.description, limits.description),
    };
    await this.deps.devices.update(updated);
    return updated;
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'developer');
    await this.require(id);
    await this.deps.devices.delete(id);
    this.deps.connections.forget(id);
  }

  /** Gives the device a new random key; the old one stops working at once. */
  async rotateKey(actor: Actor, id: string): Promise<Device> {
    requireRole(actor, 'developer');
    const updated: Device = { ...(await this.require(id)), key: newDeviceKey() };
    await this.deps.devices.update(updated);
    // The old key stops working at once, in live sessions too: TCP and MQTT sessions proved the old one.
    this.deps.connections.disconnect(id, 'the device key was rotated');
    return updated;
  }

  async require(id: string): Promise<Device> {
    const device = await this.deps.devices.get(id);
    if (!device) throw notFound(`no device ${id}`);
    return device;
  }
}

const OFFLINE: Presence = { online: false, protocol: undefined, since: undefined, lastSeen: undefined };

/** A key no device has: what a viewer gets in place of a device's key. */
export const HIDDEN_KEY = '';

/** The device as `actor` may see it: viewers do not see device keys. */
function shownTo(actor: Actor, device: Device): Device {
  return mayReadDeviceKeys(actor) ? device : { ...device, key: HIDDEN_KEY };
}
