import { connect, type Socket } from 'node:net';
import { Backoff, defaultBackoff, type BackoffPolicy } from './backoff.js';
import { describe, type DeviceHttp, type TcpEndpoint } from './device-http.js';
import { TcpMessageReader, type TcpMessage } from './fota-message.js';
import type { HeartbeatHabit } from './heartbeats.js';
import { FOTAING_CHANNEL, FOTAING_VALUE, pause, type CommandLink, type LinkHandlers } from './link.js';

export interface TcpLinkOptions {
  readonly deviceId: string;
  readonly deviceKey: string;
  readonly http: DeviceHttp;
  readonly habit: HeartbeatHabit;
  /** Replaces the habit's period (tests and benchmarks); the bytes stay the habit's. */
  readonly heartbeatIntervalMs?: number | undefined;
  readonly backoff?: BackoffPolicy | undefined;
  /**
   * How long the line must stay quiet before the last bytes read count as a whole message. The
   * server writes each message at once, so this only matters for a message split across reads.
   */
  readonly quietMs?: number;
}

/** Gives up on a polite close (FIN) after this long and destroys the socket. */
const CLOSE_GRACE_MS = 1_000;

/**
 * A TCP command connection as real MCS clients keep one: fetch `connections.csv`, connect there,
 * send a heartbeat at once and then every period, read the server's messages (heartbeat echoes,
 * commands, FOTA lines) without any delimiter, and when the socket closes fetch `connections.csv`
 * again and reconnect after a back-off.
 */
export class TcpLink implements CommandLink {
  readonly protocol = 'tcp' as const;
  private readonly stopping = new AbortController();
  private readonly backoff: Backoff;
  private socket: Socket | undefined;
  private running: Promise<void> | undefined;
  private sent = 0;

  constructor(
    private readonly options: TcpLinkOptions,
    private readonly handlers: LinkHandlers,
  ) {
    this.backoff = new Backoff(options.backoff ?? defaultBackoff);
  }

  get heartbeats(): number {
    return this.sent;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** MediaTek's C client posts the data point over HTTP, beside its TCP connection. */
  async sendFotaingStatus(): Promise<void> {
    await this.options.http.uploadDataPoints(`${FOTAING_CHANNEL},,${FOTAING_VALUE}`);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      if (socket.connecting) socket.destroy();
      else socket.end();
      const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(timer);
    }
    await this.running;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let endpoint: TcpEndpoint | undefined;
      let reason = '';
      let lived = 0;
      try {
        endpoint = await this.options.http.tcpEndpoint();
      } catch (error) {
        reason = `no TCP address: ${describe(error)}`;
      }
      if (signal.aborted) return;
      if (endpoint) {
        const started = Date.now();
        reason = await this.session(endpoint);
        lived = Date.now() - started;
      }
      if (signal.aborted) return;
      this.backoff.ended(lived);
      const wait = this.backoff.next();
      this.handlers.disconnected(reason, wait);
      if (!(await pause(wait, signal))) return;
    }
  }

  /** One connection, from connect to close; resolves with why it ended. */
  private session(endpoint: TcpEndpoint): Promise<string> {
    const { deviceId, deviceKey, habit } = this.options;
    const reader = new TcpMessageReader(deviceId, deviceKey);
    const heartbeat = habit.bytes(deviceId, deviceKey);
    const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    this.socket = socket;
    let reason = 'closed by the server';
    let beat: NodeJS.Timeout | undefined;
    let quiet: NodeJS.Timeout | undefined;

    const deliver = (messages: TcpMessage[]) => {
      for (const message of messages) this.deliver(message);
    };
    const sendHeartbeat = () => {
      if (socket.writable) {
        socket.write(heartbeat);
        this.sent++;
      }
    };

    socket.on('connect', () => {
      this.handlers.connected();
      sendHeartbeat();
      beat = setInterval(sendHeartbeat, this.options.heartbeatIntervalMs ?? habit.periodMs);
    });
    socket.on('data', (chunk: Buffer) => {
      deliver(reader.push(chunk));
      clearTimeout(quiet);
      if (reader.holding) quiet = setTimeout(() => deliver(reader.flush()), this.options.quietMs ?? 20);
    });
    socket.on('error', (error) => {
      reason = describe(error);
    });
    return new Promise((resolve) => {
      socket.once('close', () => {
        clearInterval(beat);
        clearTimeout(quiet);
        deliver(reader.flush());
        if (this.stopping.signal.aborted) reason = 'stopped';
        resolve(reason);
      });
    });
  }

  private deliver(message: TcpMessage): void {
    if (this.stopping.signal.aborted) return;
    switch (message.kind) {
      case 'heartbeat':
        this.handlers.echo();
        break;
      case 'fota':
        this.handlers.fota(message.fota);
        break;
      case 'malformed-fota':
        this.handlers.malformedFota(message.version, message.text);
        break;
      case 'command':
        break;
      case 'other':
        this.handlers.problem(`unexpected TCP message "${message.text.slice(0, 60)}"`);
        break;
    }
  }
}
