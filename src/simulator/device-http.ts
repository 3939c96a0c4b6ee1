import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { packageVersion } from '../version.js';

/** Answers of the device API are small envelopes; anything larger is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** A device call that did not succeed: the call, and what the server or the network said. */
export class DeviceApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceApiError';
  }
}

/** Where the TCP command server is, as `connections.csv` says. */
export interface TcpEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * The MCS device API as a real client calls it: the `deviceKey` header, the JSON report body, the
 * CSV forms. Every call is cancelled by the signal (the simulation stopping).
 */
export class DeviceHttp {
  private readonly base: string;

  constructor(
    httpBase: string,
    private readonly deviceId: string,
    private readonly deviceKey: string,
    private readonly signal: AbortSignal,
  ) {
    this.base = `${httpBase.replace(/\/+$/, '')}/mcs/v2/devices/${encodeURIComponent(deviceId)}`;
  }

  /** `PUT …/firmwares {"version"}`: the firmware the device runs. Resolves to its fwId. */
  async reportFirmware(version: string): Promise<string> {
    const text = await this.call('PUT', '/firmwares', JSON.stringify({ version }), 'application/json');
    const fwId = (parse(text) as { fwId?: unknown } | undefined)?.fwId;
    return typeof fwId === 'string' ? fwId : '';
  }

  /** `GET …/connections.csv`: exactly `host,port`. */
  async tcpEndpoint(): Promise<TcpEndpoint> {
    const text = (await this.call('GET', '/connections.csv')).trim();
    const match = /^([^,\s]+),(\d{1,5})$/.exec(text);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      throw new DeviceApiError(`connections.csv answered "${text.slice(0, 40)}", not host,port`);
    }
    return { host: match[1] as string, port };
  }

  /** `POST …/datapoints.csv` with lines `channel,timestamp,value` (an empty timestamp is server time). */
  async uploadDataPoints(csv: string): Promise<void> {
    await this.call('POST', '/datapoints.csv', csv, 'text/csv');
  }

  private async call(method: string, path: string, body?: string, contentType?: string): Promise<string> {
    const headers: OutgoingHttpHeaders = { deviceKey: this.deviceKey };
    if (body !== undefined) {
      headers['content-type'] = contentType;
      headers['content-length'] = Buffer.byteLength(body);
    }
    const label = `${method} /mcs/v2/devices/${this.deviceId}${path}`;
    let response: IncomingMessage;
    try {
      response = await send(new URL(`${this.base}${path}`), method, headers, this.signal, body);
    } catch (error) {
      throw new DeviceApiError(`${label} failed: ${describe(error)}`);
    }
    const text = await readSmall(response, label);
    if (response.statusCode !== 200) {
      const message = (parse(text) as { message?: unknown } | undefined)?.message;
      throw new DeviceApiError(
        `${label} answered HTTP ${response.statusCode}${typeof message === 'string' ? ` (${message})` : ''}`,
      );
    }
    return text;
  }
}

/** What a download gave: the bytes counted and hashed on the way, and what the server declared. */
export interface Download {
  readonly bytes: number;
  readonly md5: string;
  readonly sha256: string;
  /** `Content-Length`, when the server sent one. */
  readonly declaredBytes: number | undefined;
}

/**
 * Downloads a firmware as a device does, over plain HTTP (or HTTPS when the URL says so), streaming:
 * the bytes are hashed and counted on the way and then dropped, so a firmware is never held in
 * memory. Rejects on a status other than 200 and on a connection cut before the end.
 */
export async function downloadFirmware(url: string, signal: AbortSignal): Promise<Download> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new DeviceApiError(`the FOTA URL "${url.slice(0, 80)}" is not a URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new DeviceApiError(`the FOTA URL "${url.slice(0, 80)}" is not http:// or https://`);
  }
  const hash = createHash('md5');
  const sha256 = createHash('sha256');
  let bytes = 0;
  let response: IncomingMessage;
  try {
    response = await send(target, 'GET', {}, signal);
  } catch (error) {
    throw new DeviceApiError(`download failed: ${describe(error)}`);
  }
  if (response.statusCode !== 200) {
    response.resume();
    throw new DeviceApiError(`download answered HTTP ${response.statusCode}`);
  }
  const length = response.headers['content-length'];
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      hash.update(chunk);
      sha256.update(chunk);
      bytes += chunk.length;
    }
  } catch (error) {
    throw new DeviceApiError(`download cut after ${bytes} bytes: ${describe(error)}`);
  }
  return {
    bytes,
    md5: hash.digest('hex'),
    sha256: sha256.digest('hex'),
    declaredBytes: length === undefined ? undefined : Number(length),
  };
}

/**
 * The signed manifest and its signature beside a download URL (`<url>/manifest`, `<url>/manifest.sig`),
 * as a device that verifies firmware fetches them; rejects on any status but 200.
 */
export async function downloadManifest(
  url: string,
  signal: AbortSignal,
): Promise<{ manifest: Buffer; signature: Buffer }> {
  const fetchOne = async (target: string) => {
    let response: IncomingMessage;
    try {
      response = await send(new URL(target), 'GET', {}, signal);
    } catch (error) {
      throw new DeviceApiError(`manifest download failed: ${describe(error)}`);
    }
    if (response.statusCode !== 200) {
      response.resume();
      throw new DeviceApiError(`${target.slice(target.lastIndexOf('/') + 1)} answered HTTP ${response.statusCode}`);
    }
    return Buffer.from(await readSmall(response, 'the manifest download'), 'utf8');
  };
  const [manifest, signature] = await Promise.all([fetchOne(`${url}/manifest`), fetchOne(`${url}/manifest.sig`)]);
  return { manifest, signature };
}

function send(
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
  signal: AbortSignal,
  body?: string,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method,
      headers: { ...headers, 'user-agent': `fota-simulator/${packageVersion}` },
      signal,
    });
    request.once('error', reject);
    request.once('response', resolve);
    request.end(body);
  });
}

async function readSmall(response: IncomingMessage, label: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) {
        response.destroy();
        throw new DeviceApiError(`${label} answered more than ${MAX_ANSWER_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof DeviceApiError) throw error;
    throw new DeviceApiError(`${label} failed while answering: ${describe(error)}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A network error in a few words: Node's message when it names the code and the address
 * (`connect ECONNREFUSED 127.0.0.1:1883`), else the code with the message.
 */
export function describe(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && code !== 'ABORT_ERR') {
    if (typeof message !== 'string' || message === '') return code;
    return message.includes(code) ? message : `${code} (${message})`;
  }
  return typeof message === 'string' ? message : String(error);
}
