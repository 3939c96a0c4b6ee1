/**
 * The heartbeat habits of real MCS clients (see the protocol reference). A simulated TCP device
 * takes one of them, in rotation across devices, so one run exercises every form the TCP command
 * server must accept. Every habit sends its first heartbeat as soon as the socket is open: the
 * clients' loops send, then sleep, and the server knows a connection only once it identified it.
 */
export interface HeartbeatHabit {
  /** The client whose habit this is. */
  readonly client: string;
  /** Milliseconds between two heartbeats. */
  readonly periodMs: number;
  /** The exact bytes of one heartbeat. */
  bytes(deviceId: string, deviceKey: string): Buffer;
}

/** mcs.c reads and writes through a 50-byte buffer and sends all of it. */
const MCS_C_BUFFER_BYTES = 50;

export const heartbeatHabits: readonly HeartbeatHabit[] = [
  {
    client: 'python-tutorial',
    periodMs: 40_000,
    bytes: (id, key) => Buffer.from(`${id},${key},0`),
  },
  {
    client: 'mcsjs',
    periodMs: 50_000,
    bytes: (id, key) => Buffer.from(`${id},${key},0`),
  },
  {
    client: 'mcs.c',
    periodMs: 30_000,
    bytes: (id, key) => {
      const padded = Buffer.alloc(MCS_C_BUFFER_BYTES);
      padded.write(`${id},${key},0`);
      return padded;
    },
  },
  {
    client: 'arduino-7697',
    periodMs: 60_000,
    bytes: (id, key) => Buffer.from(`${id},${key},`),
  },
  {
    client: 'linkit-one',
    periodMs: 50_000,
    bytes: (id, key) => Buffer.from(`${id},${key},0\r\n\r\n`),
  },
];

/** The habit of the n-th TCP device (from 0): the habits in turn. */
export const habitFor = (tcpIndex: number): HeartbeatHabit =>
  heartbeatHabits[tcpIndex % heartbeatHabits.length] as HeartbeatHabit;
