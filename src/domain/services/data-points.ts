import { requireDevice } from '../access.js';
import { invalid } from '../errors.js';
import type { EventBus } from '../events.js';
import { KeyedMutex } from '../keyed-mutex.js';
import type { Actor, ChannelValue, DataPoint } from '../model.js';
import type { ChannelValueRepository, Clock } from '../ports.js';
import type { DeviceConnections } from './connections.js';

/** MCS accepted at most five data points per request. */
export const MAX_DATA_POINTS = 5;
const CHANNEL_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_VALUE_LENGTH = 1024;
/** Channels one device may have unless configured otherwise: each is a row kept for good. */
export const DEFAULT_MAX_CHANNELS_PER_DEVICE = 100;

/**
 * Data points devices upload beside FOTA. The last value of each channel is kept; a `status` value
 * of `fotaing` (what MediaTek's C client uploads before it downloads a firmware) is announced, so a
 * push in progress moves to `downloading`. A device has at most `maxChannelsPerDevice` channels: a
 * request that would add one past that stores nothing.
 */
export class DataPointService {
  /** Uploads of one device, one at a time, so that two cannot both take the last free channel. */
  private readonly uploads = new KeyedMutex();
  private readonly maxChannels: number;

  constructor(
    private readonly deps: {
      readonly channels: ChannelValueRepository;
      readonly connections: DeviceConnections;
      readonly events: EventBus;
      readonly clock: Clock;
      readonly maxChannelsPerDevice?: number | undefined;
    },
  ) {
    this.maxChannels = deps.maxChannelsPerDevice ?? DEFAULT_MAX_CHANNELS_PER_DEVICE;
  }

  async ingest(actor: Actor, deviceId: string, points: readonly DataPoint[]): Promise<void> {
    requireDevice(actor, deviceId);
    if (points.length === 0) throw invalid('no data points');
    if (points.length > MAX_DATA_POINTS) throw invalid(`at most ${MAX_DATA_POINTS} data points per request`);
    const now = this.deps.clock.now();
    const values: ChannelValue[] = points.map((point) => {
      if (!CHANNEL_ID.test(point.channelId)) {
        throw invalid(`channel id "${point.channelId}" must be 1 to 64 letters, digits or _ . : -`);
      }
      const entries = Object.entries(point.values);
      if (entries.length === 0) throw invalid(`data point of channel ${point.channelId} has no value`);
      for (const [, value] of entries) {
        if (typeof value !== 'string' || value.length > MAX_VALUE_LENGTH) {
          throw invalid(`values must be text of at most ${MAX_VALUE_LENGTH} characters`);
        }
      }
      const timestamp = point.timestamp === undefined || point.timestamp <= 0 ? now : new Date(point.timestamp);
      if (Number.isNaN(timestamp.getTime())) throw invalid('timestamp must be Unix milliseconds');
      return { channelId: point.channelId, values: point.values, timestamp };
    });
    await this.uploads.run(deviceId, async () => {
      await this.requireRoom(deviceId, values);
      await this.deps.channels.upsert(deviceId, values);
    });
    this.deps.connections.touch(deviceId);
    if (values.some((value) => value.channelId === 'status' && value.values['value'] === 'fotaing')) {
      this.deps.events.publish({ type: 'device.fotaing', deviceId, at: now });
    }
  }

  private async requireRoom(deviceId: string, values: readonly ChannelValue[]): Promise<void> {
    const existing = new Set((await this.deps.channels.list(deviceId)).map((value) => value.channelId));
    const added = new Set(values.map((value) => value.channelId).filter((channelId) => !existing.has(channelId)));
    if (added.size > 0 && existing.size + added.size > this.maxChannels) {
      throw invalid(
        `device ${deviceId} may have at most ${this.maxChannels} data channels; ${[...added][0]} would be one more`,
      );
    }
  }

  /** The last value of each channel of a device (its own, or any for an administrator). */
  async lastValues(actor: Actor, deviceId: string): Promise<ChannelValue[]> {
    if (actor.kind !== 'admin') requireDevice(actor, deviceId);
    return this.deps.channels.list(deviceId);
  }
}
