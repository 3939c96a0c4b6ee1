/**
 * Every key and channel fota uses in Redis, under one prefix so that a Redis shared with other
 * software stays readable. Nothing here is the only copy of anything: the database is the record;
 * Redis holds who is connected where, what is on its way between nodes, and counters.
 */
export const PREFIX = 'fota:';

export const keys = {
  /**
   * A hash per connected device: `node`, `protocol`, `since` and `seen` (ms, as of the node's last
   * refresh); expires unless its node refreshes it.
   */
  presence: (deviceId: string) => `${PREFIX}presence:${deviceId}`,
  /** A node's liveness: exists while the node runs, expires when it dies. */
  node: (nodeId: string) => `${PREFIX}node:${nodeId}`,
  /**
   * A command sent to another node, settled once (briefly kept): the protocol of the connection
   * that took it, set by the holder before writing, or `abandoned`, set by the sender giving up.
   */
  request: (requestId: string) => `${PREFIX}request:${requestId}`,
  /** Devices that may have a queued push (a set; the database says whether they still do). */
  waiting: `${PREFIX}waiting`,
} as const;

export const channels = {
  /** Requests to one node: send a command to a device it holds. */
  requests: (nodeId: string) => `${PREFIX}node:${nodeId}:requests`,
  /** Answers to the requests a node made. */
  replies: (nodeId: string) => `${PREFIX}node:${nodeId}:replies`,
  /** To every node: close a device's connections (its key was rotated, or it was deleted). */
  disconnect: `${PREFIX}disconnect`,
  /** To every node: the events the SSE stream shows, from the node where they happened. */
  events: `${PREFIX}events`,
  /** To every node: a firmware list or prototype kept in memory changed; drop it. */
  caches: `${PREFIX}caches`,
  /** To every node: failed authentications, counted by every node's throttle. */
  throttle: (name: string) => `${PREFIX}throttle:${name}`,
} as const;
