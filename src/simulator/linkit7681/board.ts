import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * A LinkIt Connect 7681 board emulated from the protocol spec (docs: the spec's §4–§6), written
 * apart from the server's codec on purpose: it shares no code with `src/transports/linkit7681`, so
 * a misreading of the spec on one side shows up as a failure instead of agreeing with itself.
 * It does what the board's cloud client does: discovery over HTTP, the framed session (keep-alive
 * first, then FOTA_INFO once), FOTA_START_UPDATE with the board's checks, the encrypted download,
 * the ImageLen/MD5 check, and a "reboot" that reconnects with the new version.
 */
const IV = Buffer.from('a3FhU81Cwh63Pv3F');
const MAGIC = Buffer.from([0x50, 0x43, 0x81, 0x76]);

export interface BoardOptions {
  readonly deviceId: string;
  readonly deviceKey: string;
  /** Where discovery goes (the hard-coded 54.255.221.85:80 on a real board). */
  readonly discovery: { readonly host: string; readonly port: number };
  /** What a router in front of the server does: where an advertised address really is. */
  readonly forward?: (address: { host: string; port: number }) => { host: string; port: number };
  major: number;
  minor: number;
  readonly bootMode?: number;
  /** Flips a byte of the next download, as a corrupted transfer would. */
  corruptNextDownload?: boolean;
}

export type BoardEvent =
  | { readonly type: 'connected'; readonly advertised: { host: string; port: number } }
  | { readonly type: 'fota'; readonly status: number }
  | { readonly type: 'rebooted'; readonly major: number; readonly minor: number }
  | { readonly type: 'update-failed'; readonly reason: string };

export class Linkit7681Board {
  private socket: Socket | undefined;
  private sendSeq = 0;
  private receiveSeq = 0;
  private firstKeepAlive = true;
  readonly events: BoardEvent[] = [];
  private readonly key: Buffer;

  constructor(private readonly options: BoardOptions) {
    this.key = Buffer.from(options.deviceKey, 'latin1');
  }

  /** `GET /devcloud/device/<id>/connect/<hex>`, then the TCP session: keep-alive, FOTA_INFO. */
  async start(): Promise<void> {
    const plain = Buffer.alloc(31);
    Buffer.from(`${this.options.deviceId},1,2`).copy(plain);
    const token = this.encrypt(plain).toString('hex');
    const body = await this.httpGet(
      this.options.discovery,
      `/devcloud/device/${this.options.deviceId}/connect/${token}`,
    );
    const text = this.decrypt(Buffer.from(body.toString('latin1'), 'hex'), true).toString('latin1');
    const match = /^(\d+\.\d+\.\d+\.\d+),(\d{1,3}),/.exec(text);
    if (!match) throw new Error(`the board cannot read the connect answer "${text}"`);
    const advertised = { host: match[1]!, port: Number(match[2]) };
    const target = this.options.forward?.(advertised) ?? advertised;
    this.sendSeq = 0;
    this.receiveSeq = 0;
    this.firstKeepAlive = true;
    const socket = connect({ host: target.host, port: target.port, noDelay: true });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.on('error', () => {});
    socket.on('data', (segment: Buffer) => this.onSegment(segment));
    this.events.push({ type: 'connected', advertised });
    this.keepAlive();
    // FOTA_INFO on the first poll, ≈0.5 s after connecting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    this.send(
      ++this.sendSeq,
      0x1f,
      5,
      Buffer.from([6, 0, 101, 0, this.options.bootMode ?? 0, this.options.major, this.options.minor]),
    );
  }

  /** Sends a keep-alive now (the board does every 40 s): CommandID 0 until the first answer. */
  keepAlive(): void {
    this.send(this.firstKeepAlive ? 0 : ++this.sendSeq, 0x0f, 8, Buffer.alloc(0));
  }

  /** Drops the link without a FIN, as a reboot does. */
  stop(): void {
    this.socket?.destroy();
  }

  private send(commandId: number, typeByte: number, subType: number, body: Buffer): void {
    const head = Buffer.alloc(12);
    head.write(this.options.deviceId, 0, 'latin1');
    head.writeUInt16LE(commandId, 8);
    head[10] = typeByte;
    head[11] = subType;
    const id = Buffer.from(this.options.deviceId, 'latin1');
    this.socket?.write(Buffer.concat([MAGIC, id, this.encrypt(Buffer.concat([head, body]))]));
  }

  /** One segment is one frame (the board decrypts segment − 12 bytes), dropped unless ids match. */
  private onSegment(segment: Buffer): void {
    const id = Buffer.from(this.options.deviceId, 'latin1');
    if (segment.length > 140 || !segment.subarray(0, 4).equals(MAGIC) || !segment.subarray(4, 12).equals(id)) return;
    const plain = this.decrypt(segment.subarray(12), true);
    if (plain.length < 12 || !plain.subarray(0, 8).equals(id)) return;
    const commandId = plain.readUInt16LE(8);
    const type = plain[10]! >> 4;
    const subType = plain[11]!;
    if (type === 0) {
      if (subType === 3)
        throw new Error('the server sent CONTROL_OFFLINE_REQUEST: a real board would erase its Wi-Fi settings');
      if (subType === 9 && this.firstKeepAlive) {
        this.firstKeepAlive = false;
        this.sendSeq = commandId;
        this.receiveSeq = commandId;
      }
      return;
    }
    if (!this.firstKeepAlive) {
      const ok =
        (commandId > this.receiveSeq && commandId <= this.receiveSeq + 20) ||
        (this.receiveSeq > 65515 && commandId <= this.receiveSeq + 20 - 65536);
      if (!ok) return;
      this.receiveSeq = commandId;
    }
    if (subType === 12) void this.fotaStart(plain);
  }

  private async fotaStart(plain: Buffer): Promise<void> {
    const length = plain.readUInt16LE(14);
    if (length <= 37 || length >= 101) return;
    const info = plain.subarray(16);
    const [bootMode, major, minor] = [info[0]!, info[1]!, info[2]!];
    const higher = major > this.options.major || (major === this.options.major && minor > this.options.minor);
    const status = bootMode === (this.options.bootMode ?? 0) && higher ? 0 : 1;
    this.send(this.receiveSeq, 0x1f, 13, Buffer.from([0, 0, 1, 0, status]));
    this.events.push({ type: 'fota', status });
    if (status !== 0) return;
    const imageLength = info.readUInt32LE(3);
    const md5 = info.subarray(7, 23);
    const ip = [...info.subarray(23, 27)].join('.');
    const end = info.indexOf(0, 27);
    const path = info.subarray(27, end).toString('latin1');
    const server = this.options.forward?.({ host: ip, port: 80 }) ?? { host: ip, port: 80 };
    let cipher = await this.httpGet(server, path);
    if (this.options.corruptNextDownload) {
      this.options.corruptNextDownload = false;
      cipher = Buffer.from(cipher);
      cipher[cipher.length >> 1]! ^= 0xff;
    }
    const failed = (reason: string) => {
      this.events.push({ type: 'update-failed', reason });
      // The 80 s watchdog: rediscovery with the old version.
      this.stop();
      void this.start();
    };
    if (cipher.length % 16 !== 0) return failed('the body is not whole blocks');
    const decrypted = this.decrypt(cipher, false);
    let hashed: Buffer;
    if (cipher.length % 128 !== 0) {
      // The last partial chunk has its padding removed; the count becomes P.
      hashed = decrypted.subarray(0, decrypted.length - decrypted[decrypted.length - 1]!);
    } else {
      hashed = decrypted;
    }
    if (hashed.length !== imageLength) return failed(`received ${hashed.length} bytes, ImageLen says ${imageLength}`);
    if (!createHash('md5').update(hashed).digest().equals(md5)) return failed('MD5 mismatch');
    this.options.major = major;
    this.options.minor = minor;
    this.events.push({ type: 'rebooted', major, minor });
    this.stop();
    void this.start();
  }

  private encrypt(plain: Buffer): Buffer {
    const cipher = createCipheriv('aes-128-cbc', this.key, IV);
    return Buffer.concat([cipher.update(plain), cipher.final()]);
  }

  /** Decrypts; with `strip`, removes as many bytes as the last byte says, unchecked, as the board does. */
  private decrypt(cipher: Buffer, strip: boolean): Buffer {
    if (cipher.length === 0 || cipher.length % 16 !== 0) return Buffer.alloc(0);
    const decipher = createDecipheriv('aes-128-cbc', this.key, IV);
    decipher.setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(cipher), decipher.final()]);
    return strip ? plain.subarray(0, Math.max(0, plain.length - plain[plain.length - 1]!)) : plain;
  }

  private httpGet(server: { host: string; port: number }, path: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = request({ host: server.host, port: server.port, path, headers: { Connection: 'close' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
      req.on('error', reject);
      req.end();
    });
  }
}
