import type { Reader } from './readers.js';

/** How a node joins the others through Redis. */
export interface RedisConfig {
  readonly url: string;
  /** This node's id in Redis; undefined: a random one on each start. */
  readonly nodeId: string | undefined;
  /** A node's presence entries and liveness expire this long after it last refreshed them. */
  readonly presenceTtlMs: number;
  /** How long a node waits for the node holding a device to say whether its connection took a command. */
  readonly requestTimeoutMs: number;
}

export const redisVariables = [
  [
    'FOTA_REDIS_URL',
    '(none)',
    'redis://[:password@]host:port[/db] of the Redis that the nodes of a cluster share (device gateway, presence, events, queued pushes, rate limits, one MQTT broker); unset: one node, everything in this process',
  ],
  [
    'FOTA_NODE_ID',
    '(random)',
    "this node's id in Redis (letters, digits, - and _; at most 64); unique per node; each worker of --workers adds -w<N>",
  ],
  [
    'FOTA_REDIS_PRESENCE_TTL_S',
    '30',
    "seconds after which a node's presence entries and liveness expire unless it refreshes them (it does every third of this): how long a dead node's devices still look online",
  ],
  [
    'FOTA_REDIS_REQUEST_TIMEOUT_S',
    '10',
    'seconds a node waits for the node holding a device to say whether its connection took a command',
  ],
] as const;

/** Redis, for what crosses the nodes of a cluster; undefined: everything stays in this process. */
export function readRedis(reader: Reader): { redis: RedisConfig | undefined } {
  const url = reader.text('FOTA_REDIS_URL', '');
  const nodeId = reader.text('FOTA_NODE_ID', '') || undefined;
  if (nodeId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) {
    reader.problem('FOTA_NODE_ID must be 1 to 64 letters, digits, - or _');
  }
  const presenceTtlMs = reader.seconds('FOTA_REDIS_PRESENCE_TTL_S', '30');
  const requestTimeoutMs = reader.seconds('FOTA_REDIS_REQUEST_TIMEOUT_S', '10');
  if (url === '') return { redis: undefined };
  if (!/^rediss?:\/\/[^\s]+$/.test(url)) reader.problem('FOTA_REDIS_URL must be a redis:// or rediss:// URL');
  return { redis: { url, nodeId, presenceTtlMs, requestTimeoutMs } };
}
