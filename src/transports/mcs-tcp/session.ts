import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { DomainError, isDomainError } from '../../domain/errors.js';
import type { DeviceConnection } from '../../domain/gateway.js';
import type { DeviceCommand } from '../../domain/model.js';
import type { DeviceConnections } from '../../domain/services/connections.js';
import type { DeviceSelfService } from '../../domain/services/device-self.js';
import { REFUSAL_DELAY_MS, type FailureThrottle } from '../../net/auth-throttle.js';
import { peerAddress, peerLabel } from '../../net/peer.js';
import { SpacedOutbox } from '../../net/spaced-outbox.js';
import { formatTcpFota } from './fota-line.js';
import { HeartbeatParser, type Heartbeat } from './heartbeat-parser.js';

/** A connection that received this much without a valid heartbeat is closed. */
export const MAX_BYTES_WITHOUT_HEARTBEAT = 1024;
/** Echoes are skipped while this much is still unsent: a peer that does not read gets no more. */
const MAX_UNSENT_BYTES = 4096;
/** Heartbeats that arrived with the first one are echoed once it is authenticated, up to this many. */
const MAX_HEARTBEATS_WHILE_AUTHENTICATING = 8;
/** How long a closed connection may take to flush before its socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

export interface SessionContext {
  readonly echoHeartbeat: boolean;
  /**
   * The least time between two writes to one socket. mcsjs and mcs.c handle one message per `recv`
   * and drop the rest: two messages written close together are read as one and the second is lost.
   */
  readonly writeGapMs: number;
  readonly deviceSelf: Pick<DeviceSelfService, 'authenticate'>;
  readonly connections: Pick<DeviceConnections, 'attach' | 'detach' | 'touch'>;
  readonly logger: FastifyBaseLogger;
  /** Failed authentication per source address, shared with the other surfaces. */
  readonly throttle?: FailureThrottle | undefined;
  /** The session's first heartbeat authenticated: its socket is a device's now. */
  identified(socket: Socket): void;
  /** Restarts the heartbeat timeout of a session. */
  heartbeat(session: TcpSession): void;
  /** The socket of a session closed. */
  closed(session: TcpSession): void;
}

type Phase = 'waiting' | 'authenticating' | 'attached';

/** A message waiting for the write gap; an echo waiting is replaced by a newer one. */
interface Outgoing {
  text: string;
  readonly kind: 'echo' | 'command';
  readonly written?: (error: Error | undefined) => void;
}

/**
 * One TCP connection: waits for the first heartbeat, authenticates the device with it, attaches the
 * connection to the device's presence, then checks and echoes every later heartbeat.
 */
export class TcpSession {
  private readonly parser = new HeartbeatParser();
  private phase: Phase = 'waiting';
  private identity: Heartbeat | undefined;
  private heldHeartbeats: Heartbeat[] = [];
  private connection: DeviceConnection | undefined;
  private ending = false;
  private closed = false;
  private readonly outbox: SpacedOutbox<Outgoing>;

  constructor(
    private readonly socket: Socket,
    private readonly context: SessionContext,
  ) {
    this.outbox = new SpacedOutbox<Outgoing>(
      context.writeGapMs,
      (message, done) => socket.write(message.text, (error) => done(error ?? undefined)),
      () => this.ending,
    );
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.context.logger.debug({ err: error, remote: this.remote() }, 'tcp socket error'));
    socket.on('close', () => this.onClose());
  }

  /** Ends the connection; what was written still goes out first. */
  close(reason: string): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.outbox.drop();
    this.context.logger.debug(
      { deviceId: this.identity?.deviceId, remote: this.remote(), reason },
      'tcp connection closed',
    );
    this.socket.end(() => this.socket.destroy());
    // A peer that reads nothing would hold the flush forever.
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** A refused device waits before its socket closes: a guessing loop gets one try a second. */
  private closeLater(reason: string): void {
    setTimeout(() => this.close(reason), REFUSAL_DELAY_MS).unref();
  }

  private receive(chunk: Buffer): void {
    if (this.ending) return;
    const { heartbeats } = this.parser.feed(chunk);
    for (const heartbeat of heartbeats) {
      this.onHeartbeat(heartbeat);
      if (this.ending) return;
    }
    if (this.parser.bytesSinceHeartbeat >= MAX_BYTES_WITHOUT_HEARTBEAT) {
      this.context.logger.info(
        { deviceId: this.identity?.deviceId, remote: this.remote() },
        'tcp connection sent 1 KiB without a valid heartbeat',
      );
      this.close('no valid heartbeat in 1 KiB');
    }
  }

  private onHeartbeat(heartbeat: Heartbeat): void {
    const identity = this.identity;
    if (identity === undefined) {
      this.identity = heartbeat;
      this.phase = 'authenticating';
      this.context.heartbeat(this);
      this.socket.pause();
      void this.authenticate(heartbeat);
      return;
    }
    if (heartbeat.deviceId !== identity.deviceId || heartbeat.key !== identity.key) {
      this.context.logger.info(
        { deviceId: identity.deviceId, other: heartbeat.deviceId, remote: this.remote() },
        'tcp heartbeat of another device or key on an identified connection',
      );
      this.close('heartbeat of another device or key');
      return;
    }
    this.context.heartbeat(this);
    if (this.phase === 'authenticating') {
      if (this.heldHeartbeats.length < MAX_HEARTBEATS_WHILE_AUTHENTICATING) this.heldHeartbeats.push(heartbeat);
      return;
    }
    this.context.connections.touch(identity.deviceId);
    this.echo(heartbeat);
  }

  private async authenticate(heartbeat: Heartbeat): Promise<void> {
    const { deviceId, key } = heartbeat;
    const { throttle } = this.context;
    if (throttle && throttle.retryAfterMs(peerAddress(this.socket)) > 0) {
      // Not even checked: an address over its limit must not learn which guess was right.
      this.context.logger.info({ deviceId, remote: this.remote() }, 'tcp device refused: too many failed attempts');
      this.closeLater('too many failed authentications');
      return;
    }
    let actor;
    try {
      actor = await this.context.deviceSelf.authenticate(deviceId, key);
    } catch (error) {
      if (isDomainError(error, 'not_found') || isDomainError(error, 'unauthenticated')) {
        throttle?.failed(peerAddress(this.socket));
        this.context.logger.info({ deviceId, remote: this.remote(), reason: error.code }, 'tcp device refused');
        this.closeLater('authentication failed');
      } else {
        this.context.logger.error({ err: error, deviceId, remote: this.remote() }, 'tcp device authentication failed');
        this.close('authentication failed');
      }
      return;
    }
    if (this.ending || this.closed) return;
    const connection: DeviceConnection = {
      deviceId,
      protocol: 'tcp',
      send: (command) => this.send(command),
      close: (reason) => this.close(reason),
    };
    try {
      this.context.connections.attach(actor, connection);
    } catch (error) {
      this.context.logger.error({ err: error, deviceId, remote: this.remote() }, 'tcp device could not be attached');
      this.close('attach failed');
      return;
    }
    this.connection = connection;
    this.phase = 'attached';
    this.context.identified(this.socket);
    this.context.logger.debug({ deviceId, remote: this.remote() }, 'tcp device connected');
    this.echo(heartbeat);
    for (const held of this.heldHeartbeats) {
      this.context.connections.touch(deviceId);
      this.echo(held);
    }
    this.heldHeartbeats = [];
    this.socket.resume();
  }

  private send(command: DeviceCommand): Promise<void> {
    const identity = this.identity;
    if (this.ending || this.closed || !this.socket.writable || identity === undefined) {
      return Promise.reject(new DomainError('unavailable', 'the TCP connection of the device is closed'));
    }
    let line: string;
    try {
      line = formatTcpFota(identity.deviceId, identity.key, command);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.enqueue({
        text: line,
        kind: 'command',
        written: (error) =>
          error
            ? reject(new DomainError('unavailable', `the FOTA command was not written: ${error.message}`))
            : resolve(),
      });
    });
  }

  private echo(heartbeat: Heartbeat): void {
    if (!this.context.echoHeartbeat || this.ending || !this.socket.writable) return;
    if (this.socket.writableLength > MAX_UNSENT_BYTES) return;
    this.enqueue({ text: `${heartbeat.deviceId},${heartbeat.key},${heartbeat.timestamp}`, kind: 'echo' });
  }

  private enqueue(message: Outgoing): void {
    const { queue } = this.outbox;
    const waitingEcho = message.kind === 'echo' ? queue.find((queued) => queued.kind === 'echo') : undefined;
    if (waitingEcho) waitingEcho.text = message.text;
    else queue.push(message);
    this.outbox.flush();
  }

  private onClose(): void {
    this.closed = true;
    this.ending = true;
    this.outbox.drop();
    this.context.closed(this);
    if (this.connection) {
      this.context.connections.detach(this.connection);
      this.context.logger.debug(
        { deviceId: this.connection.deviceId, remote: this.remote() },
        'tcp device disconnected',
      );
    }
  }

  private remote(): string {
    return peerLabel(this.socket);
  }
}
