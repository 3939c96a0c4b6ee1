import type { WaitingDevices } from '../../domain/push/dispatcher.js';
import { keys } from './keys.js';
import type { RedisLink } from './link.js';

/** Ids added per command. */
const ADD_BATCH = 1000;

/**
 * The devices that may have a queued push, as one Redis set for the whole cluster: a push queued
 * on one node is delivered by whichever node its device connects to, and a connect of a device
 * with nothing queued costs one SREM, no query. The database stays the record: every node
 * adds its queued devices at start, and the compare-and-set move to `sent` lets one node send.
 */
export class RedisWaitingDevices implements WaitingDevices {
  constructor(private readonly link: RedisLink) {}

  async add(deviceIds: readonly string[]): Promise<void> {
    for (let start = 0; start < deviceIds.length; start += ADD_BATCH) {
      await this.link.commands.sadd(keys.waiting, ...deviceIds.slice(start, start + ADD_BATCH));
    }
  }

  async take(deviceId: string): Promise<boolean> {
    return (await this.link.commands.srem(keys.waiting, deviceId)) === 1;
  }
}
