import { afterAll, inject } from 'vitest';
import { RedisLink } from '../../src/bus/redis/link.js';
import { RedisWaitingDevices } from '../../src/bus/redis/waiting-devices.js';
import { waitingDevicesContract } from '../../src/domain/push/waiting-devices.contract.js';

const links: RedisLink[] = [];
afterAll(async () => {
  for (const link of links) await link.close();
});

waitingDevicesContract('RedisWaitingDevices', async () => {
  const link = await RedisLink.open(inject('redisUrl'), undefined, (error) => {
    throw error;
  });
  links.push(link);
  return new RedisWaitingDevices(link);
});
