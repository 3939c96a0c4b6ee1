import { requireDevice } from '../access.js';
import { invalid } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Actor, ChannelValue, DataPoint } from '../model.js';
import type { ChannelValueRepository, Clock } from '../ports.js';
import type { DeviceConnections } from './connections.js';

/** MCS accepted at most five data points per request. */
export const MAX_DATA_POINTS = 5;
const CHANNEL_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_VALUE_LENGTH = 1024;

/**
 * Data points devices upload beside FOTA. The last value of each channel is kept; a `status` value
 * of `fotaing` (what MediaTek's C client uploads before it downloads a firmware) is announced, so a
 * push in progress moves to `downloading`.
 */
export class DataPointService {
  constructor(
    private readonly deps: {
      readonly channels: ChannelValueRepository;
      readonly connections: DeviceConnections;
      readonly events: EventBus;
      readonly clock: Clock;
    },
  ) {}

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
    await this.deps.channels.upsert(deviceId, values);
    this.deps.connections.touch(deviceId);
    if (values.some((value) => value.channelId === 'status' && value.values['value'] === 'fotaing')) {
      this.deps.events.publish({ type: 'device.fotaing', deviceId, at: now });
    }
  }

  /** The last value of each channel of a device (its own, or any for an administrator). */
  async lastValues(actor: Actor, deviceId: string): Promise<ChannelValue[]> {
    if (actor.kind !== 'admin') requireDevice(actor, deviceId);
    return this.deps.channels.list(deviceId);
  }
}
