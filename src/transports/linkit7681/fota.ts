import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { DomainError, invalid } from '../../domain/errors.js';
import type { EventBus } from '../../domain/events.js';
import { boardVersion } from '../../domain/linkit7681-version.js';
import type { DeviceCommand, Firmware } from '../../domain/model.js';
import { encryptImage } from './crypto.js';
import { fotaStartUpdate, type Frame } from './frames.js';
import type { LinkitSession } from './session.js';

/** The OTA region of the default 60 KB-XIP build holds 192512 bytes after the 128-byte header (§6.4). */
export const MAX_IMAGE_BYTES = 128 + 192_512;
/** Encrypted images kept for download at most; the oldest goes first. */
const MAX_KEPT_IMAGES = 256;
/** uIP's MSS: the body must not end exactly at a segment boundary when P mod 16 = 0 (§6.4). */
const MSS = 546;
const DOWNLOAD_PATH = /^\/fota\/([A-Za-z0-9_-]{1,40})\.bin$/;

export interface LinkitFotaDeps {
  readonly firmwares: {
    require(id: string): Promise<Firmware>;
    readBytes(firmware: Firmware): Promise<Readable>;
  };
  readonly pushes: {
    downloadStarted(download: { firmwareId: string; pushId: string; deviceId: string }): void;
  };
  readonly events: EventBus;
  /** The IPv4 address boards download from (on port 80: the discovery server). */
  readonly publicHost: string;
  readonly logger: FastifyBaseLogger;
}

interface KeptImage {
  readonly body: Buffer;
  /** P, the plaintext length. */
  readonly plainLength: number;
  readonly part: { readonly firmwareId: string; readonly pushId: string; readonly deviceId: string };
}

/**
 * Server-driven FOTA for LinkIt 7681 boards (protocol spec §6): a push's command becomes a
 * FOTA_START_UPDATE naming a per-device path, `/fota/<the push's download token>.bin`, on the
 * discovery HTTP server (the board downloads from port 80). The image is encrypted for that one
 * device's key as one CBC stream; ImageLen and the MD5 follow the P/E rule. The board's accepting
 * answer is `device.acknowledged`; its download `firmware.download`; success shows only as the new
 * version in its next FOTA_INFO (`device.reported`).
 */
export class LinkitFota {
  private readonly images = new Map<string, KeptImage>();
  private readonly pending = new WeakMap<LinkitSession, { pushId: string; firmwareId: string }>();

  constructor(private readonly deps: LinkitFotaDeps) {}

  /** The FOTA_START_UPDATE of a command; throws when the board cannot take it. */
  async command(session: LinkitSession, command: DeviceCommand): Promise<Frame> {
    const deviceId = session.device;
    const key = session.deviceKey;
    if (deviceId === undefined || key === undefined)
      throw new DomainError('unavailable', 'the board is not identified');
    if (!session.ready) throw new DomainError('unavailable', 'the board has not sent its first keep-alive yet');
    const report = session.report;
    if (!report) throw new DomainError('unavailable', 'the board has not reported its boot mode and version yet');
    const version = boardVersion(command.version);
    if (!version) throw invalid(`version ${command.version} does not fit a LinkIt 7681 board (major.minor, 0 to 255)`);
    const token = /\/fw\/p\/([A-Za-z0-9_-]+)$/.exec(command.url)?.[1];
    if (!token) throw invalid('the command names no pushed download');
    const firmware = await this.deps.firmwares.require(command.firmwareId);
    const plain = await readAll(await this.deps.firmwares.readBytes(firmware), MAX_IMAGE_BYTES);
    const problem = imageProblem(plain, report.bootMode);
    if (problem) throw invalid(problem);
    const image = encryptImage(key, plain);
    this.keep(token, {
      body: image.body,
      plainLength: plain.length,
      part: { firmwareId: firmware.id, pushId: command.pushId, deviceId },
    });
    this.pending.set(session, { pushId: command.pushId, firmwareId: firmware.id });
    return fotaStartUpdate(deviceId, session.nextCommandId(), {
      bootMode: report.bootMode,
      major: version.major,
      minor: version.minor,
      imageLength: image.imageLength,
      md5: image.md5,
      serverIp: this.deps.publicHost,
      filePath: `/fota/${token}.bin`,
    });
  }

  /** FOTA_UPDATE_RESPONSE: 0 accepted (acknowledged), 1 refused (not higher, or another boot mode). */
  answered(session: LinkitSession, status: number): void {
    const push = this.pending.get(session);
    const deviceId = session.device;
    if (!push || deviceId === undefined) return;
    this.pending.delete(session);
    if (status === 0) {
      this.deps.events.publish({ type: 'device.acknowledged', deviceId, ...push, at: new Date() });
      return;
    }
    this.deps.logger.info({ deviceId, pushId: push.pushId }, 'linkit7681 board refused the update');
    // The board keeps its version: reporting it again fails the push ("reported … instead of …").
    if (session.report) void session.reportAgain();
  }

  /** Serves `GET /fota/<token>.bin`: exactly E bytes in one write, then close. True when it handled it. */
  serve(request: IncomingMessage, response: ServerResponse): boolean {
    const match = DOWNLOAD_PATH.exec(request.url ?? '');
    if (!match) return false;
    const kept = this.images.get(match[1]!);
    if (!kept || request.method !== 'GET') {
      response.writeHead(kept ? 405 : 404, { 'Content-Length': 0, Connection: 'close' });
      response.end();
      return true;
    }
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': kept.body.length,
      Connection: 'close',
    };
    // When P mod 16 = 0, a segment ending exactly at body offset P makes the board stop one block early.
    if (kept.plainLength % 16 === 0 && (headerBytes(headers) + kept.plainLength) % MSS === 0) {
      headers['X-Pad'] = 'x';
    }
    this.deps.pushes.downloadStarted(kept.part);
    response.writeHead(200, headers);
    response.end(kept.body);
    return true;
  }

  private keep(token: string, image: KeptImage): void {
    this.images.delete(token);
    this.images.set(token, image);
    if (this.images.size > MAX_KEPT_IMAGES) this.images.delete(this.images.keys().next().value!);
  }
}

/** Why an image cannot go to a board in this boot mode, or undefined (§6.4 safety check). */
export function imageProblem(image: Buffer, bootMode: number): string | undefined {
  if (image.length <= 128 || image[0] !== 0x76 || image[1] !== 0x81 || image[2] !== 0xaa) {
    return 'a LinkIt 7681 image starts with its 128-byte header 76 81 AA (MT7681_sta_header.bin)';
  }
  if (image.readUInt32LE(3) !== image.length - 128) {
    return `the image header says ${image.readUInt32LE(3)} bytes of firmware, the file has ${image.length - 128} after the header`;
  }
  const type = image[7];
  if ((bootMode === 0 && type !== 4) || (bootMode === 1 && type !== 6)) {
    return `the image type ${type} does not match the board's boot mode ${bootMode} (4 for STA, 6 for AP)`;
  }
  return undefined;
}

/** An approximation of Node's header block, for the segment rule. */
function headerBytes(headers: Record<string, string | number>): number {
  let bytes = 'HTTP/1.1 200 OK\r\n'.length + 'Date: Tue, 01 Dec 2026 00:00:00 GMT\r\n'.length + 2;
  for (const [name, value] of Object.entries(headers)) bytes += `${name}: ${value}\r\n`.length;
  return bytes;
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw invalid(`a LinkIt 7681 image has at most ${limit} bytes (the board's OTA region)`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
