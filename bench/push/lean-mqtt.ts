import { connect, type Socket } from 'node:net';

/**
 * A lean MQTT 3.1.1 client for the swarms: CONNECT (clean session), SUBSCRIBE, PUBLISH at QoS 0 or
 * 1, PUBACK, PINGREQ, nothing else. One socket and a few fields per client and no timers of its own
 * (the swarm sends the pings), so thousands of them fit in one process. Packets it does not expect
 * are reported through `onProblem`.
 */

export interface IncomingPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: number;
  readonly retain: boolean;
  readonly dup: boolean;
}

export interface LeanMqttHandlers {
  onConnack(returnCode: number): void;
  onSuback(packetId: number, granted: readonly number[]): void;
  onPublish(publish: IncomingPublish): void;
  onPuback(packetId: number): void;
  onProblem(problem: string): void;
  /** A PINGRESP arrived (the probe times them). */
  onPingresp?(): void;
  onClose(reason: string): void;
}

const CONNECT = 0x10;
const CONNACK = 0x20;
const PUBLISH = 0x30;
const PUBACK = 0x40;
const SUBSCRIBE = 0x82;
const SUBACK = 0x90;
const PINGREQ = Buffer.from([0xc0, 0x00]);
const PINGRESP = 0xd0;

function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

function packet(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), remainingLength(body.length), body]);
}

function string(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

export function connectPacket(clientId: string, keepaliveS: number): Buffer {
  // Protocol name MQTT, level 4 (3.1.1), flags: clean session.
  return packet(CONNECT, Buffer.concat([string('MQTT'), Buffer.from([0x04, 0x02]), u16(keepaliveS), string(clientId)]));
}

export function subscribePacket(packetId: number, filter: string, qos: number): Buffer {
  return packet(SUBSCRIBE, Buffer.concat([u16(packetId), string(filter), Buffer.from([qos])]));
}

export function publishPacket(topic: string, payload: Buffer, qos: 0 | 1, packetId: number): Buffer {
  const parts = qos === 0 ? [string(topic), payload] : [string(topic), u16(packetId), payload];
  return packet(PUBLISH | (qos << 1), Buffer.concat(parts));
}

export class LeanMqttClient {
  readonly socket: Socket;
  private pending: Buffer | undefined;
  private closed = false;

  constructor(
    options: { host: string; port: number; localAddress?: string | undefined; clientId: string; keepaliveS: number },
    private readonly handlers: LeanMqttHandlers,
  ) {
    this.socket = connect({
      host: options.host,
      port: options.port,
      localAddress: options.localAddress,
      noDelay: true,
    });
    this.socket.once('connect', () => this.socket.write(connectPacket(options.clientId, options.keepaliveS)));
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => this.close(error.message));
    this.socket.on('close', () => this.close('closed by the broker'));
  }

  subscribe(packetId: number, filter: string, qos: number): void {
    this.socket.write(subscribePacket(packetId, filter, qos));
  }

  publish(topic: string, payload: Buffer, qos: 0 | 1, packetId: number): void {
    this.socket.write(publishPacket(topic, payload, qos, packetId));
  }

  ping(): void {
    if (!this.closed) this.socket.write(PINGREQ);
  }

  /** Drops the connection without DISCONNECT, as a device that loses its network. */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.handlers.onClose(reason);
  }

  private receive(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (data.length >= 2) {
      let length = 0;
      let multiplier = 1;
      let offset = 1;
      let complete = false;
      while (offset < data.length && offset <= 4) {
        const byte = data[offset++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || data.length < offset + length) break;
      this.handle(data[0]!, data.subarray(offset, offset + length));
      data = data.subarray(offset + length);
    }
    if (data.length > 0) this.pending = Buffer.from(data);
  }

  private handle(first: number, body: Buffer): void {
    const type = first & 0xf0;
    switch (type) {
      case CONNACK:
        this.handlers.onConnack(body.length === 2 ? body[1]! : -1);
        return;
      case SUBACK:
        this.handlers.onSuback(body.readUInt16BE(0), [...body.subarray(2)]);
        return;
      case PUBLISH: {
        const qos = (first >> 1) & 0x03;
        const topicLength = body.readUInt16BE(0);
        const topic = body.toString('utf8', 2, 2 + topicLength);
        let offset = 2 + topicLength;
        if (qos > 0) {
          const packetId = body.readUInt16BE(offset);
          offset += 2;
          this.socket.write(packet(PUBACK, u16(packetId)));
        }
        this.handlers.onPublish({
          topic,
          payload: body.subarray(offset),
          qos,
          retain: (first & 0x01) === 1,
          dup: (first & 0x08) !== 0,
        });
        return;
      }
      case PUBACK:
        this.handlers.onPuback(body.readUInt16BE(0));
        return;
      case PINGRESP:
        this.handlers.onPingresp?.();
        return;
      default:
        this.handlers.onProblem(`unexpected MQTT packet type 0x${first.toString(16)}`);
    }
  }
}
