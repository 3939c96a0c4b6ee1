import { decrypt, encrypt } from './crypto.js';

/**
 * The frames of the LinkIt Connect 7681 command session (protocol spec §5): 12 clear bytes (the
 * magic `50 43 81 76` and the 8-byte device id), then AES-CBC over the rest of the header and the
 * body. There is no length field: one frame is one TCP segment.
 */
export const MAGIC = Buffer.from([0x50, 0x43, 0x81, 0x76]);
export const CLEAR_BYTES = 12;
export const DEVICE_ID_BYTES = 8;
/** The board decrypts into a 128-byte buffer: no frame either way may be longer than 12 + 128. */
export const MAX_FRAME_BYTES = 140;

export const FrameType = { management: 0, function: 1 } as const;
export const Management = {
  queryCapRequest: 1,
  queryCapResponse: 2,
  /** Never sent: the board erases its Wi-Fi settings on it (§7.2). */
  controlOfflineRequest: 3,
  controlOfflineResponse: 4,
  keepAlive: 8,
  keepAliveResponse: 9,
} as const;
export const FunctionCode = {
  setGpioRequest: 1,
  setGpioResponse: 2,
  getGpioRequest: 3,
  getGpioResponse: 4,
  autoUpdate: 5,
  setUartRequest: 6,
  setUartResponse: 7,
  setPwmRequest: 8,
  setPwmResponse: 9,
  getPwmRequest: 10,
  getPwmResponse: 11,
  fotaStartUpdate: 12,
  fotaUpdateResponse: 13,
  getUartRequest: 14,
  getUartResponse: 15,
} as const;
export const DataType = {
  status: 0,
  clientCap: 1,
  uartInfo: 2,
  gpioInfo: 3,
  pwmInfo: 4,
  controlPw: 5,
  fotaInfo: 6,
} as const;

/** Reserve bits of the type word: always 0xF from the board, and so from the server too. */
const RESERVE = 0x0f;

export interface Frame {
  /** 8 ASCII characters, in the clear prefix and again inside the ciphertext. */
  readonly deviceId: string;
  /** The sequence number (CommandID), u16. */
  readonly commandId: number;
  /** 0 MANAGEMENT, 1 FUNCTION (4 bits). */
  readonly type: number;
  readonly subType: number;
  /** The DataHeader; a frame without one (a keep-alive) has none. */
  readonly data?: { readonly type: number; readonly length: number; readonly payload: Buffer };
}

/** The 12 clear bytes of a device's frames: what the stream is split on. */
export function clearPrefix(deviceId: string): Buffer {
  return Buffer.concat([MAGIC, deviceIdBytes(deviceId)]);
}

function deviceIdBytes(deviceId: string): Buffer {
  const bytes = Buffer.from(deviceId, 'latin1');
  if (bytes.length !== DEVICE_ID_BYTES) throw new RangeError(`a 7681 device id has 8 characters, not "${deviceId}"`);
  return bytes;
}

/** The frame on the wire, encrypted with the device's key; throws past MAX_FRAME_BYTES. */
export function encodeFrame(key: Buffer, frame: Frame): Buffer {
  if (frame.type === FrameType.management && frame.subType === Management.controlOfflineRequest) {
    throw new RangeError('CONTROL_OFFLINE_REQUEST is never sent: the board would erase its Wi-Fi settings');
  }
  const id = deviceIdBytes(frame.deviceId);
  const head = Buffer.alloc(12);
  id.copy(head, 0);
  head.writeUInt16LE(frame.commandId & 0xffff, 8);
  head[10] = RESERVE | ((frame.type & 0x0f) << 4);
  head[11] = frame.subType & 0xff;
  let plain = head;
  if (frame.data) {
    const dataHeader = Buffer.alloc(4);
    dataHeader.writeUInt16LE(frame.data.type, 0);
    dataHeader.writeUInt16LE(frame.data.length, 2);
    plain = Buffer.concat([head, dataHeader, frame.data.payload]);
  }
  const wire = Buffer.concat([MAGIC, id, encrypt(key, plain)]);
  if (wire.length > MAX_FRAME_BYTES) {
    throw new RangeError(`a 7681 frame may have at most ${MAX_FRAME_BYTES} bytes, this one has ${wire.length}`);
  }
  return wire;
}

/**
 * One whole frame as received: undefined unless the magic is right, the ciphertext decrypts with
 * `key` to a correctly padded plaintext of at least 12 bytes, and both device ids are `deviceId`.
 * Without the device's key no frame decodes, so a decoded frame proves the device. Never throws.
 */
export function decodeFrame(key: Buffer, deviceId: string, wire: Buffer): Frame | undefined {
  if (wire.length < CLEAR_BYTES + 16 || wire.length > MAX_FRAME_BYTES) return undefined;
  if (!wire.subarray(0, 4).equals(MAGIC)) return undefined;
  const id = Buffer.from(deviceId, 'latin1');
  if (id.length !== DEVICE_ID_BYTES || !wire.subarray(4, CLEAR_BYTES).equals(id)) return undefined;
  const plain = decrypt(key, wire.subarray(CLEAR_BYTES));
  if (!plain || plain.length < 12 || !plain.subarray(0, 8).equals(id)) return undefined;
  const frame = {
    deviceId,
    commandId: plain.readUInt16LE(8),
    type: plain[10]! >> 4,
    subType: plain[11]!,
  };
  if (plain.length < 16) return frame;
  return {
    ...frame,
    data: { type: plain.readUInt16LE(12), length: plain.readUInt16LE(14), payload: plain.subarray(16) },
  };
}

export const keepAlive = (deviceId: string, commandId: number): Frame => ({
  deviceId,
  commandId,
  type: FrameType.management,
  subType: Management.keepAlive,
});

/** The answer to a keep-alive: header only, its CommandID echoed (§5.5). */
export const keepAliveResponse = (deviceId: string, commandId: number): Frame => ({
  deviceId,
  commandId,
  type: FrameType.management,
  subType: Management.keepAliveResponse,
});

/** What the board reports once a session: its boot index and version bytes (§6.1). */
export interface FotaReport {
  /** 0 STA, 1 AP. */
  readonly bootMode: number;
  readonly major: number;
  readonly minor: number;
}

/** FUNCTION/AUTO_UPDATE with DataHeader {FOTA_INFO, 101} and only 3 payload bytes, as the board sends it. */
export const fotaInfo = (deviceId: string, commandId: number, report: FotaReport): Frame => ({
  deviceId,
  commandId,
  type: FrameType.function,
  subType: FunctionCode.autoUpdate,
  data: {
    type: DataType.fotaInfo,
    length: FOTA_INFO_STRUCT_BYTES,
    payload: Buffer.from([report.bootMode, report.major, report.minor]),
  },
});

/** The FOTA_INFO report of a frame; the DataHeader.Length is ignored (the board says 101, sends 3). */
export function readFotaReport(frame: Frame): FotaReport | undefined {
  if (frame.type !== FrameType.function || frame.subType !== FunctionCode.autoUpdate) return undefined;
  if (!frame.data || frame.data.type !== DataType.fotaInfo || frame.data.payload.length < 3) return undefined;
  const [bootMode, major, minor] = frame.data.payload;
  return { bootMode: bootMode!, major: major!, minor: minor! };
}

/** sizeof(FOTAInfo) on the board. */
const FOTA_INFO_STRUCT_BYTES = 101;
/** FOTA_START_UPDATE carries FOTAInfo up to the end of FilePath: 91 bytes, 124 on the wire (§6.2). */
export const FOTA_START_LENGTH = 91;
/** The path is NUL-terminated in a 64-byte field. */
export const MAX_FILE_PATH_BYTES = 63;

/** What FOTA_START_UPDATE tells the board (FOTAInfo, §6.2). */
export interface FotaStart {
  readonly bootMode: number;
  readonly major: number;
  readonly minor: number;
  readonly imageLength: number;
  /** 16 raw bytes. */
  readonly md5: Buffer;
  /** IPv4 dotted quad: the board downloads from it on port 80. */
  readonly serverIp: string;
  /** Absolute, at most 63 ASCII characters. */
  readonly filePath: string;
}

/** FUNCTION/FOTA_START_UPDATE with DataHeader {FOTA_INFO, 91}; throws on a field the board cannot take. */
export function fotaStartUpdate(deviceId: string, commandId: number, start: FotaStart): Frame {
  const ip = parseIpv4(start.serverIp);
  if (!ip) throw new RangeError(`the 7681 board downloads from an IPv4 address, not "${start.serverIp}"`);
  const path = Buffer.from(start.filePath, 'latin1');
  if (!start.filePath.startsWith('/') || path.length > MAX_FILE_PATH_BYTES || /[^\x21-\x7e]/.test(start.filePath)) {
    throw new RangeError(`a 7681 file path is absolute, printable and at most ${MAX_FILE_PATH_BYTES} characters`);
  }
  if (start.md5.length !== 16) throw new RangeError('an MD5 digest has 16 bytes');
  const payload = Buffer.alloc(FOTA_START_LENGTH);
  payload[0] = start.bootMode;
  payload[1] = start.major;
  payload[2] = start.minor;
  payload.writeUInt32LE(start.imageLength, 3);
  start.md5.copy(payload, 7);
  Buffer.from(ip).copy(payload, 23);
  path.copy(payload, 27);
  return {
    deviceId,
    commandId,
    type: FrameType.function,
    subType: FunctionCode.fotaStartUpdate,
    data: { type: DataType.fotaInfo, length: FOTA_START_LENGTH, payload },
  };
}

/** The FOTAInfo of a FOTA_START_UPDATE, as the board reads it; undefined outside Length 38..100. */
export function readFotaStart(frame: Frame): FotaStart | undefined {
  if (frame.type !== FrameType.function || frame.subType !== FunctionCode.fotaStartUpdate || !frame.data) {
    return undefined;
  }
  const { length, payload } = frame.data;
  if (length < 38 || length > 100 || payload.length < Math.min(length, FOTA_START_LENGTH)) return undefined;
  const info = Buffer.alloc(FOTA_START_LENGTH);
  payload.copy(info, 0, 0, Math.min(length, FOTA_START_LENGTH));
  const end = info.indexOf(0, 27);
  return {
    bootMode: info[0]!,
    major: info[1]!,
    minor: info[2]!,
    imageLength: info.readUInt32LE(3),
    md5: Buffer.from(info.subarray(7, 23)),
    serverIp: [...info.subarray(23, 27)].join('.'),
    filePath: info.subarray(27, end === -1 ? FOTA_START_LENGTH : end).toString('latin1'),
  };
}

/** A response of the board to a command: DataHeader {STATUS, 1} and one status byte (0 ok, 1 error). */
export const statusResponse = (deviceId: string, commandId: number, subType: number, status: number): Frame => ({
  deviceId,
  commandId,
  type: FrameType.function,
  subType,
  data: { type: DataType.status, length: 1, payload: Buffer.from([status]) },
});

/** The status byte of a FOTA_UPDATE_RESPONSE. */
export function readFotaResponse(frame: Frame): number | undefined {
  if (frame.type !== FrameType.function || frame.subType !== FunctionCode.fotaUpdateResponse) return undefined;
  if (!frame.data || frame.data.type !== DataType.status || frame.data.payload.length < 1) return undefined;
  return frame.data.payload[0];
}

/** The four octets of a dotted-quad IPv4 address, or undefined. */
export function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) {
    return undefined;
  }
  return parts.map(Number);
}
