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
import { deviceKeyBytes } from './crypto.js';
import { FrameReader } from './frame-reader.js';
import {
  FrameType,
  FunctionCode,
  Management,
  encodeFrame,
  keepAliveResponse,
  readFotaReport,
  readFotaResponse,
  type Frame,
  type FotaReport,
} from './frames.js';

/** A connection that sent this many bytes no frame could be made of since its last good frame is closed. */
export const MAX_GARBAGE_BYTES = 1024;
/** How long a closed connection may take to flush before its socket is destroyed. */
const CLOSE_GRACE_MS = 2000;
/** Frames waiting to be written at most; a peer that reads nothing gets no more. */
const MAX_OUTBOX = 8;

/** What a session needs of the server around it. */
export interface SessionContext {
  readonly deviceSelf: Pick<DeviceSelfService, 'authenticateByProof' | 'reportFirmware'>;
  readonly connections: Pick<DeviceConnections, 'attach' | 'detach' | 'touch'>;
  readonly logger: FastifyBaseLogger;
  readonly throttle?: FailureThrottle | undefined;
  /** A connection without a first frame that proves its device within this time is closed. */
  readonly identifyTimeoutMs: number;
  /** An identified connection without a valid frame for this long is closed. */
  readonly idleTimeoutMs: number;
  /** The least time between two frames written: the board reads one frame per TCP segment. */
  readonly writeGapMs: number;
  /** Formats a command for this device, or throws when it cannot be (see `fota.ts`). */
  readonly command: (session: LinkitSession, command: DeviceCommand) => Promise<Frame>;
  /** The board answered a FOTA_START_UPDATE: 0 accepted, 1 refused. */
  readonly fotaAnswered: (session: LinkitSession, status: number) => void;
  identified(socket: Socket): void;
  closed(session: LinkitSession): void;
}

interface Outgoing {
  readonly wire: Buffer;
  readonly written?: (error: Error | undefined) => void;
}

/**
 * One 7681 command session (protocol spec §5): the board's first frame (a keep-alive) names the
 * device in clear and proves it by decrypting with its key. Then every keep-alive is answered at
 * once with its CommandID echoed; the first answer fixes the sequence base S0 (§5.4), and each
 * FUNCTION command takes the next number. FOTA_INFO is recorded as the firmware the device runs;
 * every other frame is ignored. CONTROL_OFFLINE is never sent (`encodeFrame` refuses it).
 */
export class LinkitSession {
  private readonly reader = new FrameReader();
  private deviceId: string | undefined;
  private key: Buffer | undefined;
  private actor: Awaited<ReturnType<SessionContext['deviceSelf']['authenticateByProof']>> | undefined;
  private connection: DeviceConnection | undefined;
  /** The last CommandID used by the server; undefined until the first keep-alive answer. */
  private sequence: number | undefined;
  /** What the board reported this session. */
  report: FotaReport | undefined;
  private ending = false;
  private closed = false;
  private authenticating = false;
  private readonly outbox: SpacedOutbox<Outgoing>;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly socket: Socket,
    private readonly context: SessionContext,
  ) {
    this.outbox = new SpacedOutbox<Outgoing>(
      context.writeGapMs,
      (message, done) => socket.write(message.wire, (error) => done(error ?? undefined)),
      () => this.ending,
    );
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) =>
      context.logger.debug({ err: error, remote: this.remote() }, 'linkit7681 socket error'),
    );
    socket.on('close', () => this.onClose());
    this.timer = setTimeout(() => this.close('no frame that proves a device in time'), context.identifyTimeoutMs);
    this.timer.unref();
  }

  get device(): string | undefined {
    return this.deviceId;
  }

  /** The device's AES key, once identified. */
  get deviceKey(): Buffer | undefined {
    return this.key;
  }

  /** Whether FUNCTION commands may go out: only after the first keep-alive answer (§5.4). */
  get ready(): boolean {
    return this.sequence !== undefined;
  }

  /** The CommandID of the next FUNCTION command (counter + 1 mod 65536). */
  nextCommandId(): number {
    if (this.sequence === undefined) throw new DomainError('unavailable', 'the board has not sent a keep-alive yet');
    this.sequence = (this.sequence + 1) & 0xffff;
    return this.sequence;
  }

  close(reason: string): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    clearTimeout(this.timer);
    this.outbox.drop();
    this.context.logger.debug(
      { deviceId: this.deviceId, remote: this.remote(), reason },
      'linkit7681 connection closed',
    );
    this.socket.end(() => this.socket.destroy());
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private receive(chunk: Buffer): void {
    if (this.ending) return;
    if (!this.reader.feed(chunk)) return this.close('more bytes than a frame can hold');
    if (this.key === undefined) {
      if (this.authenticating) return;
      const deviceId = this.reader.firstDeviceId();
      if (deviceId !== undefined) {
        this.authenticating = true;
        this.socket.pause();
        void this.authenticate(deviceId);
        return;
      }
    } else {
      this.readFrames();
    }
    if (this.reader.garbageBytes >= MAX_GARBAGE_BYTES) {
      this.context.logger.info(
        { deviceId: this.deviceId, remote: this.remote() },
        'linkit7681 connection sent 1 KiB of garbage',
      );
      this.close('1 KiB without a valid frame');
    }
  }

  private async authenticate(deviceId: string): Promise<void> {
    const { throttle, logger } = this.context;
    if (throttle && throttle.retryAfterMs(peerAddress(this.socket)) > 0) {
      logger.info({ deviceId, remote: this.remote() }, 'linkit7681 device refused: too many failed attempts');
      return this.closeLater('too many failed authentications');
    }
    let first: Frame | undefined;
    try {
      this.actor = await this.context.deviceSelf.authenticateByProof(
        deviceId,
        (key) => {
          const bytes = deviceKeyBytes(key);
          first = bytes && this.reader.next(deviceId, bytes);
          return first !== undefined;
        },
        'linkit7681',
      );
    } catch (error) {
      if (isDomainError(error, 'not_found') || isDomainError(error, 'unauthenticated')) {
        throttle?.failed(peerAddress(this.socket));
        logger.info({ deviceId, remote: this.remote(), reason: error.code }, 'linkit7681 device refused');
        this.closeLater('authentication failed');
      } else {
        logger.error({ err: error, deviceId, remote: this.remote() }, 'linkit7681 device authentication failed');
        this.close('authentication failed');
      }
      return;
    }
    if (this.ending || this.closed) return;
    this.deviceId = deviceId;
    this.key = deviceKeyBytes(this.actor.key);
    const connection: DeviceConnection = {
      deviceId,
      protocol: 'linkit7681',
      send: (command) => this.send(command),
      close: (reason) => this.close(reason),
    };
    try {
      this.context.connections.attach(this.actor, connection);
    } catch (error) {
      logger.error({ err: error, deviceId, remote: this.remote() }, 'linkit7681 device could not be attached');
      return this.close('attach failed');
    }
    this.connection = connection;
    this.context.identified(this.socket);
    logger.debug({ deviceId, remote: this.remote() }, 'linkit7681 device connected');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.close('no valid frame in time'), this.context.idleTimeoutMs);
    this.timer.unref();
    this.onFrame(first!);
    this.readFrames();
    this.socket.resume();
  }

  private closeLater(reason: string): void {
    setTimeout(() => this.close(reason), REFUSAL_DELAY_MS).unref();
  }

  private readFrames(): void {
    const { deviceId, key } = this;
    if (deviceId === undefined || key === undefined) return;
    for (let frame = this.reader.next(deviceId, key); frame && !this.ending; frame = this.reader.next(deviceId, key)) {
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Frame): void {
    this.timer.refresh();
    this.context.connections.touch(frame.deviceId);
    if (frame.type === FrameType.management && frame.subType === Management.keepAlive) {
      // The first answer fixes S0: the echoed CommandID (0 before any answer).
      this.sequence ??= frame.commandId;
      this.write({ wire: encodeFrame(this.key!, keepAliveResponse(frame.deviceId, frame.commandId)) }, true);
      return;
    }
    const report = readFotaReport(frame);
    if (report) return void this.recordReport(report);
    const status = frame.subType === FunctionCode.fotaUpdateResponse ? readFotaResponse(frame) : undefined;
    if (status !== undefined) return this.context.fotaAnswered(this, status);
    this.context.logger.debug(
      { deviceId: frame.deviceId, type: frame.type, subType: frame.subType },
      'linkit7681 frame ignored',
    );
  }

  /** Reports the version of this session's FOTA_INFO again (after the board refused an update). */
  reportAgain(): Promise<void> {
    return this.report ? this.recordReport(this.report) : Promise.resolve();
  }

  private async recordReport(report: FotaReport): Promise<void> {
    this.report = report;
    const version = `${report.major}.${report.minor}`;
    try {
      await this.context.deviceSelf.reportFirmware(this.actor!, this.deviceId!, version);
    } catch (error) {
      if (isDomainError(error, 'not_found')) {
        this.context.logger.info(
          { deviceId: this.deviceId, version },
          'linkit7681 device reports a version its prototype has no firmware for',
        );
      } else {
        this.context.logger.error({ err: error, deviceId: this.deviceId }, 'linkit7681 version report failed');
      }
    }
  }

  private async send(command: DeviceCommand): Promise<void> {
    if (this.ending || this.closed || !this.socket.writable || this.key === undefined) {
      throw new DomainError('unavailable', 'the LinkIt 7681 connection of the device is closed');
    }
    const frame = await this.context.command(this, command);
    const wire = encodeFrame(this.key, frame);
    await new Promise<void>((resolve, reject) =>
      this.write({
        wire,
        written: (error) =>
          error
            ? reject(new DomainError('unavailable', `the FOTA command was not written: ${error.message}`))
            : resolve(),
      }),
    );
  }

  /** Queues one frame; a keep-alive answer goes before waiting commands, each frame its own write. */
  private write(message: Outgoing, urgent = false): void {
    if (this.ending) return message.written?.(new Error('the connection closed'));
    const { queue } = this.outbox;
    if (queue.length >= MAX_OUTBOX) return message.written?.(new Error('the device reads nothing'));
    if (urgent) queue.unshift(message);
    else queue.push(message);
    this.outbox.flush();
  }

  private onClose(): void {
    this.closed = true;
    this.ending = true;
    clearTimeout(this.timer);
    this.outbox.drop();
    this.context.closed(this);
    if (this.connection) this.context.connections.detach(this.connection);
  }

  private remote(): string {
    return peerLabel(this.socket);
  }
}
