/** Raw MQTT 3.1.1 packets, for tests that send what no well-behaved client would. */

/** The remaining-length varint of an MQTT fixed header. */
export function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

const text = (value: string): Buffer => {
  const bytes = Buffer.from(value);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 255]), bytes]);
};

/** CONNECT with a clean session and keepalive 0, with a will of any QoS bits (3 included) if asked. */
export function connectPacket(clientId: string, will?: { topic: string; payload: string; qos: number }): Buffer {
  let flags = 0x02;
  if (will) flags |= 0x04 | ((will.qos & 3) << 3);
  const body = Buffer.concat([
    text('MQTT'),
    Buffer.from([4, flags, 0, 0]),
    text(clientId),
    ...(will ? [text(will.topic), text(will.payload)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** A QoS 0 PUBLISH. */
export function publishPacket(topic: string, payload: Buffer | string): Buffer {
  const body = Buffer.concat([text(topic), Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x30]), remainingLength(body.length), body]);
}

/** Only the fixed header of a PUBLISH that declares `length` bytes to follow. */
export const publishHeader = (length: number): Buffer => Buffer.concat([Buffer.from([0x30]), remainingLength(length)]);

/** A PUBLISH of QoS 0, or of QoS 1 or 2 with a message id. */
export function publishPacketQos(topic: string, payload: Buffer | string, qos: number, messageId = 1): Buffer {
  const id = qos > 0 ? Buffer.from([messageId >> 8, messageId & 255]) : Buffer.alloc(0);
  const body = Buffer.concat([text(topic), id, Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x30 | ((qos & 3) << 1)]), remainingLength(body.length), body]);
}

/** A SUBSCRIBE of one filter, with any requested QoS bits (3 included). */
export function subscribePacket(filter: string, qos: number, messageId = 1): Buffer {
  const body = Buffer.concat([Buffer.from([messageId >> 8, messageId & 255]), text(filter), Buffer.from([qos & 255])]);
  return Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body]);
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);
