import { LocalEventBus } from '../events.js';
import { gatewayContract } from '../testing/gateway.contract.js';
import { DeviceConnections } from './connections.js';

// One process is one node: every "node" of the cluster is the same connections.
gatewayContract('in-process DeviceConnections', async (nodeCount) => {
  const connections = new DeviceConnections({
    events: new LocalEventBus((error) => {
      throw error;
    }),
    clock: { now: () => new Date() },
  });
  return {
    nodes: Array.from({ length: nodeCount }, () => ({ connections, gateway: connections })),
    close: async () => connections.closeAll('test over'),
  };
});
