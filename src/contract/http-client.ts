import { pushStatuses, type PushStatus } from '../domain/push.js';
import type {
  ApiTokenBody,
  ApiTokenCreatedBody,
  DeviceBody,
  DevicePushBody,
  FirmwareBody,
  PrototypeBody,
  PushBody,
  PushTargetPageBody,
  ServerInfoBody,
  UserBody,
} from './schemas.js';

/**
 * One typed client of the management API over `fetch`, for the web console (browser) and Node. It
 * only moves the API's answers: counts, statuses and rules come from the server.
 */

export type Role = 'admin' | 'developer' | 'viewer';

export interface SessionUser {
  readonly userId: string;
  readonly email: string;
  readonly role: Role;
  readonly createdAt: string;
}

/** `POST /api/v1/session` and `GET /api/v1/session`. */
export interface SessionBody {
  readonly user: SessionUser;
  readonly csrfToken: string;
}

// The push statuses are the domain's own list, not a copy: the console cannot drift from them.
export { pushStatuses, type PushStatus };

/** How requests prove who sends them: a session cookie with its CSRF token, or a bearer token. */
export type Credentials =
  | { readonly kind: 'session'; readonly csrfToken: string }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'none' };

/** An answer of the API that is not a success, or no answer at all (`status` 0), in words. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface PushRequest {
  readonly deviceIds?: string[];
  readonly selection?: 'all' | 'online';
  readonly force?: boolean;
  readonly queueOffline?: boolean;
}

export interface FirmwareUpload {
  readonly name: string;
  readonly version: string;
  readonly releaseNote?: string;
  readonly checksum?: string;
  /** `all`, or firmware ids. */
  readonly prerequisites?: 'all' | string[];
  readonly file: Blob;
  readonly fileName: string;
}

/** Sends a multipart body and reports progress; the browser passes one over XMLHttpRequest. */
export type Uploader = (
  url: string,
  body: FormData,
  headers: Record<string, string>,
  onProgress: (sent: number, total: number) => void,
) => Promise<{ status: number; text: string }>;

const safeMethods = new Set(['GET', 'HEAD']);

export class HttpClient {
  credentials: Credentials = { kind: 'none' };

  constructor(
    /** Base URL of the server, '' for the page's own origin. */
    public base: string,
    private readonly fetchImpl: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  headers(method: string): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const credentials = this.credentials;
    if (credentials.kind === 'bearer') headers['authorization'] = `Bearer ${credentials.token}`;
    if (credentials.kind === 'session' && !safeMethods.has(method)) headers['x-csrf-token'] = credentials.csrfToken;
    return headers;
  }

  url(path: string): string {
    return `${this.base}/api/v1${path}`;
  }

  async request<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
    const headers = this.headers(method);
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path), {
        ...init,
        method,
        headers,
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiError(`the server cannot be reached (${(error as Error).message})`, 0, 'unreachable');
    }
    return readAnswer<T>(response.status, await response.text());
  }

  // Session (the users contract).
  signIn(body: { email: string; password: string } | { adminToken: string }): Promise<SessionBody> {
    return this.request('POST', '/session', body);
  }
  session(): Promise<SessionBody> {
    return this.request('GET', '/session');
  }
  signOut(): Promise<void> {
    return this.request('DELETE', '/session');
  }

  // Users (admins only) and API tokens.
  users(): Promise<UserBody[]> {
    return this.request('GET', '/users');
  }
  createUser(body: { email: string; password: string; role: Role }): Promise<UserBody> {
    return this.request('POST', '/users', body);
  }
  updateUser(userId: string, body: { role?: Role; password?: string }): Promise<UserBody> {
    return this.request('PATCH', `/users/${enc(userId)}`, body);
  }
  deleteUser(userId: string): Promise<void> {
    return this.request('DELETE', `/users/${enc(userId)}`);
  }
  tokens(): Promise<ApiTokenBody[]> {
    return this.request('GET', '/tokens');
  }
  createToken(body: { name: string; role: Role }): Promise<ApiTokenCreatedBody> {
    return this.request('POST', '/tokens', body);
  }
  revokeToken(tokenId: string): Promise<void> {
    return this.request('DELETE', `/tokens/${enc(tokenId)}`);
  }

  serverInfo(): Promise<ServerInfoBody> {
    return this.request('GET', '/server');
  }

  // Prototypes.
  prototypes(): Promise<PrototypeBody[]> {
    return this.request('GET', '/prototypes');
  }
  prototype(pid: string): Promise<PrototypeBody> {
    return this.request('GET', `/prototypes/${enc(pid)}`);
  }
  createPrototype(body: { name: string; description?: string; versionPolicy?: 'any' | 'increasing' }) {
    return this.request<PrototypeBody>('POST', '/prototypes', body);
  }
  editPrototype(pid: string, body: { name?: string; description?: string; versionPolicy?: 'any' | 'increasing' }) {
    return this.request<PrototypeBody>('PATCH', `/prototypes/${enc(pid)}`, body);
  }
  deletePrototype(pid: string, force = false): Promise<void> {
    return this.request('DELETE', `/prototypes/${enc(pid)}${force ? '?force=true' : ''}`);
  }

  // Devices.
  devices(pid: string): Promise<DeviceBody[]> {
    return this.request('GET', `/prototypes/${enc(pid)}/devices`);
  }
  device(deviceId: string): Promise<DeviceBody> {
    return this.request('GET', `/devices/${enc(deviceId)}`);
  }
  createDevice(pid: string, body: { name: string; description?: string }): Promise<DeviceBody> {
    return this.request('POST', `/prototypes/${enc(pid)}/devices`, body);
  }
  deleteDevice(deviceId: string): Promise<void> {
    return this.request('DELETE', `/devices/${enc(deviceId)}`);
  }
  rotateKey(deviceId: string): Promise<DeviceBody> {
    return this.request('POST', `/devices/${enc(deviceId)}/key`);
  }
  devicePushes(deviceId: string): Promise<DevicePushBody[]> {
    return this.request('GET', `/devices/${enc(deviceId)}/pushes`);
  }

  // Firmware.
  firmwares(pid: string): Promise<FirmwareBody[]> {
    return this.request('GET', `/prototypes/${enc(pid)}/firmwares`);
  }
  editFirmware(fwId: string, body: { name?: string; releaseNote?: string; prerequisites?: 'all' | string[] }) {
    return this.request<FirmwareBody>('PATCH', `/firmwares/${enc(fwId)}`, body);
  }
  deleteFirmware(fwId: string, force = false): Promise<void> {
    return this.request('DELETE', `/firmwares/${enc(fwId)}${force ? '?force=true' : ''}`);
  }
  /** Uploads a firmware as the multipart form the API reads (the file last). */
  async uploadFirmware(
    pid: string,
    upload: FirmwareUpload,
    send: Uploader,
    onProgress: (sent: number, total: number) => void = () => undefined,
  ): Promise<FirmwareBody> {
    const form = new FormData();
    form.append('name', upload.name);
    form.append('version', upload.version);
    if (upload.releaseNote) form.append('releaseNote', upload.releaseNote);
    if (upload.checksum) form.append('checksum', upload.checksum);
    const prerequisites = upload.prerequisites ?? 'all';
    form.append('prerequisites', prerequisites === 'all' ? 'all' : prerequisites.join(','));
    form.append('file', upload.file, upload.fileName);
    let answer: { status: number; text: string };
    try {
      answer = await send(this.url(`/prototypes/${enc(pid)}/firmwares`), form, this.headers('POST'), onProgress);
    } catch (error) {
      throw new ApiError(`the upload did not reach the server (${(error as Error).message})`, 0, 'unreachable');
    }
    return readAnswer<FirmwareBody>(answer.status, answer.text);
  }

  // Pushes.
  push(fwId: string, body: PushRequest): Promise<PushBody> {
    return this.request('POST', `/firmwares/${enc(fwId)}/push`, body);
  }
  pushSummary(pushId: string): Promise<PushBody> {
    return this.request('GET', `/pushes/${enc(pushId)}`);
  }
  firmwarePushes(fwId: string): Promise<PushBody[]> {
    return this.request('GET', `/firmwares/${enc(fwId)}/pushes`);
  }
  pushTargets(pushId: string, query: { status?: PushStatus; cursor?: string; limit?: number } = {}) {
    const params = new URLSearchParams();
    if (query.status) params.set('status', query.status);
    if (query.cursor) params.set('cursor', query.cursor);
    if (query.limit) params.set('limit', String(query.limit));
    const text = params.toString();
    return this.request<PushTargetPageBody>('GET', `/pushes/${enc(pushId)}/targets${text ? `?${text}` : ''}`);
  }

  /** The raw event stream answer (`GET /api/v1/events`); read it with `readEvents`. */
  async openEvents(signal: AbortSignal): Promise<Response> {
    const response = await this.fetchImpl(this.url('/events'), {
      headers: { ...this.headers('GET'), accept: 'text/event-stream' },
      credentials: 'same-origin',
      signal,
    });
    if (!response.ok) readAnswer(response.status, await response.text());
    return response;
  }
}

export interface StreamEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

/** Reads Server-Sent Events from a fetch answer until it ends. */
export async function readEvents(response: Response, onEvent: (event: StreamEvent) => void): Promise<void> {
  if (response.body === null) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data === '') continue;
      try {
        onEvent({ type, data: JSON.parse(data) as Record<string, unknown> });
      } catch {
        // not JSON: not an event of this API
      }
    }
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** An answer as the API defines it: JSON, and `{"error":{code,message}}` with an error status. */
export function readAnswer<T>(status: number, text: string): T {
  if (status === 204) return undefined as T;
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status >= 400) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (typeof error?.code === 'string' && typeof error.message === 'string') {
      throw new ApiError(error.message, status, error.code);
    }
    throw new ApiError(`the server answered HTTP ${status} without an explanation`, status, 'http_error');
  }
  if (body === undefined) throw new ApiError(`the server answered HTTP ${status} without JSON`, status, 'not_json');
  return body as T;
}
