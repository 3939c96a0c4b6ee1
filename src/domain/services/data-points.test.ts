import { describe, expect, it } from 'vitest';
import { LocalEventBus } from '../events.js';
import type { Actor } from '../model.js';
import { InMemoryChannelValueRepository, InMemoryTables, SteppingClock } from '../testing/fakes.js';
import { DeviceConnections } from './connections.js';
import { DataPointService } from './data-points.js';

const actor: Actor = { kind: 'device', deviceId: 'Dabc1234', prototypeId: 'Pabcdefghijk' };

function service(maxChannelsPerDevice: number) {
  const events = new LocalEventBus(() => undefined);
  const clock = new SteppingClock();
  const channels = new InMemoryChannelValueRepository(new InMemoryTables());
  const connections = new DeviceConnections({ events, clock });
  return { channels, dataPoints: new DataPointService({ channels, connections, events, clock, maxChannelsPerDevice }) };
}

const point = (channelId: string, value = '1') => ({ channelId, timestamp: undefined, values: { value } });

describe('DataPointService channel cap', () => {
  it('stores new channels up to the cap, then refuses a request that adds one more and stores none of it', async () => {
    const { channels, dataPoints } = service(3);
    await dataPoints.ingest(actor, 'Dabc1234', [point('a'), point('b')]);
    await dataPoints.ingest(actor, 'Dabc1234', [point('c')]);
    await expect(dataPoints.ingest(actor, 'Dabc1234', [point('a', '2'), point('d')])).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('at most 3 data channels'),
    });
    const stored = await channels.list('Dabc1234');
    expect(stored.map((value) => value.channelId)).toEqual(['a', 'b', 'c']);
    expect(stored[0]!.values['value']).toBe('1');
    // Channels it has keep taking values.
    await dataPoints.ingest(actor, 'Dabc1234', [point('a', '3'), point('c', '3')]);
    expect((await channels.list('Dabc1234'))[0]!.values['value']).toBe('3');
  });

  it('holds the cap when uploads with new channels arrive at once', async () => {
    const { channels, dataPoints } = service(10);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => dataPoints.ingest(actor, 'Dabc1234', [point(`x${i}`), point(`y${i}`)])),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(5);
    expect(await channels.list('Dabc1234')).toHaveLength(10);
  });
});
