import { inject } from 'vitest';
import { RedisLink } from '../../src/bus/redis/link.js';
import { SharedAuthThrottle } from '../../src/bus/redis/shared-throttle.js';
import { throttleContract } from '../../src/net/auth-throttle.contract.js';

const fail = (error: unknown) => {
  throw error;
};
let run = 0;

throttleContract('SharedAuthThrottle on Redis', async (nodeCount, options) => {
  // A throttle name per test: the failures of one test never reach the next.
  const name = `contract-${process.pid}-${++run}`;
  const links = await Promise.all(
    Array.from({ length: nodeCount }, () => RedisLink.open(inject('redisUrl'), undefined, fail)),
  );
  const throttles = await Promise.all(links.map((link) => SharedAuthThrottle.start(name, link, options, fail)));
  return {
    nodes: throttles,
    async close() {
      for (const throttle of throttles) await throttle.close();
      for (const link of links) await link.close();
    },
  };
});
