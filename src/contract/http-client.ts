import type { Role } from '../domain/model.js';
import { activePushStatuses, pushPhases, pushStatuses, type PushPhase, type PushStatus } from '../domain/push.js';
import { ApiError, networkReason, readAnswer, readText } from './api-error.js';
import { fetchStreamsRequests, FileSourceError, MultipartBody, type FileSource } from './multipart.js';
import type {
  ApiTokenBody,
  AuditFiltersBody,
  AuditPageBody,
  ApiTokenCreatedBody,
  DeviceBody,
  DevicePushBody,
  FirmwareBody,
  FirmwareSignatureBody,
  ManifestToSignBody,
  PrototypeBody,
  PushBody,
  PushTargetPageBody,
  ServerInfoBody,
  SigningKeyBody,
  UserBody,
  WebhookDeliveryBody,
  WebhookDeliveryPageBody,
  WebhookSubscriptionBody,
  WebhookSubscriptionCreatedBody,
} from './schemas.js';

/**
 * One typed client of the management API over `fetch`, for the web console (browser), the CLI and
 * the simulator (Node). It only moves the API's answers: counts, statuses and rules come from the
 * server, and the statuses' names and order from the domain, re-exported here.
 */

export { ApiError, answerText, networkReason, readAnswer, type ClientErrorCode } from './api-error.js';
export { readEventStream, readEvents, type StreamEnd, type StreamEvent } from './event-stream.js';
export type { FileSource } from './multipart.js';

export { roles, type Role } from '../domain/model.js';

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
/** The statuses a target can still leave; a push is finished when no target is in one. */
export { activePushStatuses, pushPhases, type PushPhase };

/** How many targets of a push are in one of these statuses, from the counts the server answered. */
export const countIn = (counts: Readonly<Record<string, number>>, statuses: readonly PushStatus[]): number =>
  statuses.reduce((sum, status) => sum + (counts[status] ?? 0), 0);

/** How requests prove who sends them: a session cookie with its CSRF token, or a bearer token. */
export type Credentials =
  | { readonly kind: 'session'; readonly csrfToken: string }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'none' };

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
  /** A Blob (a File from a picker), or any stream of known size (a file on disk in Node). */
  readonly file: Blob | FileSource;
  readonly fileName: string;
}

/** Sends a multipart body and reports progress; the browser passes one over XMLHttpRequest. */
export type Uploader = (
  url: string,
  body: FormData,
  headers: Record<string, string>,
  onProgress: (sent: number, total: number) => void,
) => Promise<{ status: number; text: string }>;

/** How a client names the server, sends its requests and reads answers; all optional. */
export interface ClientOptions {
  /** How error messages name the server; by default its base URL ("the server" for the page's own). */
  readonly name?: string;
  /** Headers every request carries besides the credentials (Node: a user agent). */
  readonly headers?: Readonly<Record<string, string>>;
  /** What fetch does with a redirect; `manual` answers it as the odd answer it is. Default: follow. */
  readonly redirect?: 'follow' | 'manual' | 'error';
  /** The largest answer read, in bytes: an answer of this API is a small JSON document. */
  readonly maxAnswerBytes?: number;
}

/** 16 MiB: far above any answer of the API, so that a wrong URL cannot fill the memory. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const safeMethods = new Set(['GET', 'HEAD']);

export class HttpClient {
  credentials: Credentials = { kind: 'none' };
  /** How messages name the server. */
  readonly name: string;

  constructor(
    /** Base URL of the server, '' for the page's own origin; a trailing slash is dropped. */
    public base: string,
    private readonly fetchImpl: typeof fetch = (input, init) => fetch(input, init),
    private readonly options: ClientOptions = {},
  ) {
    this.base = base.replace(/\/+$/, '');
    this.name = options.name ?? (this.base === '' ? 'the server' : this.base);
  }

  headers(method: string): Record<string, string> {
    const headers: Record<string, string> = { ...this.options.headers, accept: 'application/json' };
    const credentials = this.credentials;
    if (credentials.kind === 'bearer') headers['authorization'] = `Bearer ${credentials.token}`;
    if (credentials.kind === 'session' && !safeMethods.has(method)) headers['x-csrf-token'] = credentials.csrfToken;
    return headers;
  }

  url(path: string): string {
    return `${this.base}/api/v1${path}`;
  }

  /**
   * One call: a JSON body (or none), the answer read as the API defines it. Every failure is an
   * ApiError, but for an abort by `init.signal`, which rejects as fetch does.
   */
  async request<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
    const headers = this.headers(method);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.send(this.url(path), {
      ...init,
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return this.answer<T>(response, init.signal);
  }

  /** fetch, with a failure to get any answer as an ApiError naming the server. */
  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, {
        credentials: 'same-origin',
        redirect: this.options.redirect ?? 'follow',
        ...init,
      });
    } catch (error) {
      throw this.unreachable(error, init.signal);
    }
  }

  /** Reads an answer to its end, at most `maxAnswerBytes` of it. */
  private async answer<T>(response: Response, signal?: AbortSignal | null): Promise<T> {
    const limit = this.options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
    let text: string | undefined;
    try {
      text = await readText(response, limit);
    } catch (error) {
      throw this.unreachable(error, signal);
    }
    if (text === undefined) {
      throw new ApiError(`${this.name} sent an answer larger than ${limit} bytes`, response.status, 'too_large', {
        server: this.name,
      });
    }
    return readAnswer<T>(response.status, text, this.name);
  }

  private unreachable(error: unknown, signal?: AbortSignal | null): unknown {
    if (signal?.aborted) return error;
    return new ApiError(`cannot connect to ${this.name}: ${networkReason(error).text}`, 0, 'unreachable', {
      server: this.name,
      cause: error,
    });
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
  createPrototype(body: {
    name: string;
    description?: string;
    versionPolicy?: 'any' | 'increasing';
    board?: 'mcs' | 'linkit7681';
  }) {
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
  editDevice(deviceId: string, body: { name?: string; description?: string }): Promise<DeviceBody> {
    return this.request('PATCH', `/devices/${enc(deviceId)}`, body);
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
  firmware(fwId: string): Promise<FirmwareBody> {
    return this.request('GET', `/firmwares/${enc(fwId)}`);
  }
  editFirmware(fwId: string, body: { name?: string; releaseNote?: string; prerequisites?: 'all' | string[] }) {
    return this.request<FirmwareBody>('PATCH', `/firmwares/${enc(fwId)}`, body);
  }
  deleteFirmware(fwId: string, force = false): Promise<void> {
    return this.request('DELETE', `/firmwares/${enc(fwId)}${force ? '?force=true' : ''}`);
  }
  /**
   * Uploads a firmware as the multipart form the API reads (the file last). `send` carries the form
   * (the console's XMLHttpRequest, the one browser API that reports upload progress); without it
   * the form goes over this client's fetch with its length known up front, the file streamed as it
   * is sent (Node; browsers that stream requests), and `onProgress` hears the file's bytes sent.
   */
  async uploadFirmware(
    pid: string,
    upload: FirmwareUpload,
    send?: Uploader,
    onProgress: (sent: number, total: number) => void = () => undefined,
  ): Promise<FirmwareBody> {
    const url = this.url(`/prototypes/${enc(pid)}/firmwares`);
    const fields = firmwareFields(upload);
    if (send === undefined) return this.streamUpload(url, fields, upload, onProgress);
    if (!(upload.file instanceof Blob)) throw new TypeError('a form sent by an Uploader takes the file as a Blob');
    const form = new FormData();
    for (const [name, value] of fields) form.append(name, value);
    form.append('file', upload.file, upload.fileName);
    let answer: { status: number; text: string };
    try {
      answer = await send(url, form, this.headers('POST'), onProgress);
    } catch (error) {
      throw new ApiError(`the upload did not reach the server (${(error as Error).message})`, 0, 'unreachable', {
        server: this.name,
        cause: error,
      });
    }
    return readAnswer<FirmwareBody>(answer.status, answer.text, this.name);
  }

  /**
   * The form over fetch. As soon as the answer is in, the rest of the body is not sent: an early
   * refusal (a wrong token) does not wait for the whole file.
   */
  private async streamUpload(
    url: string,
    fields: ReadonlyArray<readonly [string, string]>,
    upload: FirmwareUpload,
    onProgress: (sent: number, total: number) => void,
  ): Promise<FirmwareBody> {
    const form = new MultipartBody(fields, { field: 'file', fileName: upload.fileName, source: upload.file });
    const headers = { ...this.headers('POST'), 'content-type': form.contentType };
    const size = upload.file.size;
    if (!fetchStreamsRequests()) {
      // Without request streams: the same bytes as one Blob, which fetch reads as it sends.
      const response = await this.send(url, { method: 'POST', headers, body: form.blob() });
      const answer = await this.answer<FirmwareBody>(response);
      onProgress(size, size);
      return answer;
    }
    const stream = form.stream((sent) => onProgress(sent, size));
    try {
      const response = await this.send(url, {
        method: 'POST',
        // The length is known: a server can refuse a file too large before it comes.
        headers: { ...headers, 'content-length': String(form.contentLength) },
        body: stream.body,
        duplex: 'half',
      } as RequestInit).catch((error: unknown) => {
        const failure = fileFailure(error);
        throw failure === undefined
          ? error
          : new ApiError(failure.message, 0, 'file_unreadable', { server: this.name, cause: failure });
      });
      return await this.answer<FirmwareBody>(response);
    } finally {
      stream.stop();
    }
  }

  // Signing keys and signed manifests (docs/security.md).
  signingKey(pid: string): Promise<SigningKeyBody> {
    return this.request('GET', `/prototypes/${enc(pid)}/signing-key`);
  }
  signingKeys(pid: string): Promise<SigningKeyBody[]> {
    return this.request('GET', `/prototypes/${enc(pid)}/signing-keys`);
  }
  /** Without `publicKey` the server creates a key pair; with it, that public key is registered. */
  createSigningKey(pid: string, body: { publicKey?: string; resign?: boolean } = {}): Promise<SigningKeyBody> {
    return this.request('POST', `/prototypes/${enc(pid)}/signing-keys`, body);
  }
  prototypeSignatures(pid: string): Promise<FirmwareSignatureBody[]> {
    return this.request('GET', `/prototypes/${enc(pid)}/signatures`);
  }
  firmwareSignatures(fwId: string): Promise<FirmwareSignatureBody[]> {
    return this.request('GET', `/firmwares/${enc(fwId)}/signatures`);
  }
  manifestToSign(fwId: string, keyId?: string): Promise<ManifestToSignBody> {
    return this.request('GET', `/firmwares/${enc(fwId)}/manifest${keyId ? `?keyId=${enc(keyId)}` : ''}`);
  }
  /** Without `signature` the server signs with the current key; with it, the CLI's signature is kept. */
  signFirmware(fwId: string, signature?: string): Promise<FirmwareSignatureBody> {
    return this.request('POST', `/firmwares/${enc(fwId)}/signatures`, signature === undefined ? {} : { signature });
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

  // The audit log (admins only).
  audit(query: AuditFiltersBody & { cursor?: string; limit?: number } = {}): Promise<AuditPageBody> {
    const text = auditParams(query).toString();
    return this.request('GET', `/audit${text ? `?${text}` : ''}`);
  }
  /** Where the whole log (as filtered) downloads as CSV or JSON, for a link or `fetch`. */
  auditExportUrl(format: 'csv' | 'json', filters: AuditFiltersBody = {}): string {
    const params = auditParams(filters);
    params.set('format', format);
    return this.url(`/audit/export?${params.toString()}`);
  }
  /** The export's answer, to stream to a file; an ApiError when it is refused. */
  async openAuditExport(
    format: 'csv' | 'json',
    filters: AuditFiltersBody = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    const response = await this.send(this.auditExportUrl(format, filters), {
      headers: this.headers('GET'),
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) await this.answer(response, signal);
    return response;
  }

  /**
   * The event stream's answer (`GET /api/v1/events`), read with `readEvents` or `readEventStream`.
   * Rejects with an ApiError when it is refused, or is not an event stream; as fetch does on abort.
   */
  async openEvents(signal: AbortSignal): Promise<Response> {
    const response = await this.send(this.url('/events'), {
      headers: { ...this.headers('GET'), accept: 'text/event-stream' },
      signal,
    });
    if (!response.ok) await this.answer(response, signal);
    if (!response.ok || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await response.body?.cancel().catch(() => undefined);
      throw new ApiError(
        `${this.name} did not answer /api/v1/events with an event stream`,
        response.status,
        'not_event_stream',
        { server: this.name },
      );
    }
    return response;
  }

  // Webhooks (admins only).
  webhooks(): Promise<WebhookSubscriptionBody[]> {
    return this.request('GET', '/webhooks');
  }
  webhook(webhookId: string): Promise<WebhookSubscriptionBody> {
    return this.request('GET', `/webhooks/${enc(webhookId)}`);
  }
  createWebhook(body: WebhookCreate): Promise<WebhookSubscriptionCreatedBody> {
    return this.request('POST', '/webhooks', body);
  }
  editWebhook(webhookId: string, body: Partial<WebhookCreate>): Promise<WebhookSubscriptionBody> {
    return this.request('PATCH', `/webhooks/${enc(webhookId)}`, body);
  }
  deleteWebhook(webhookId: string): Promise<void> {
    return this.request('DELETE', `/webhooks/${enc(webhookId)}`);
  }
  rotateWebhookSecret(webhookId: string): Promise<WebhookSubscriptionCreatedBody> {
    return this.request('POST', `/webhooks/${enc(webhookId)}/secret`);
  }
  pingWebhook(webhookId: string): Promise<WebhookDeliveryBody> {
    return this.request('POST', `/webhooks/${enc(webhookId)}/ping`);
  }
  webhookDeliveries(
    webhookId: string,
    query: { before?: string; limit?: number; status?: 'pending' | 'delivered' | 'failed' } = {},
  ): Promise<WebhookDeliveryPageBody> {
    const params = new URLSearchParams();
    if (query.before) params.set('before', query.before);
    if (query.limit) params.set('limit', String(query.limit));
    if (query.status) params.set('status', query.status);
    const text = params.toString();
    return this.request('GET', `/webhooks/${enc(webhookId)}/deliveries${text ? `?${text}` : ''}`);
  }
  webhookDelivery(webhookId: string, deliveryId: string): Promise<WebhookDeliveryBody> {
    return this.request('GET', `/webhooks/${enc(webhookId)}/deliveries/${enc(deliveryId)}`);
  }
  redeliverWebhook(webhookId: string, deliveryId: string): Promise<WebhookDeliveryBody> {
    return this.request('POST', `/webhooks/${enc(webhookId)}/deliveries/${enc(deliveryId)}/redeliver`);
  }
}

/** A webhook subscription to create: events from `webhookEvents`. */
export interface WebhookCreate {
  readonly url: string;
  readonly events: readonly string[];
  readonly description?: string;
  readonly enabled?: boolean;
}

export { webhookEventTypes as webhookEvents } from '../domain/webhooks/model.js';

/** The upload's text fields, as the API names them. */
function firmwareFields(upload: FirmwareUpload): Array<readonly [string, string]> {
  const fields: Array<readonly [string, string]> = [
    ['name', upload.name],
    ['version', upload.version],
  ];
  if (upload.releaseNote) fields.push(['releaseNote', upload.releaseNote]);
  if (upload.checksum) fields.push(['checksum', upload.checksum]);
  const prerequisites = upload.prerequisites ?? 'all';
  fields.push(['prerequisites', prerequisites === 'all' ? 'all' : prerequisites.join(',')]);
  return fields;
}

/** The file's own failure behind fetch's "fetch failed", when the body's file is what failed. */
function fileFailure(error: unknown): FileSourceError | undefined {
  let at: unknown = error;
  for (let depth = 0; depth < 4 && at instanceof Error; depth++) {
    if (at instanceof FileSourceError) return at;
    at = at.cause;
  }
  return undefined;
}

function auditParams(query: AuditFiltersBody & { cursor?: string; limit?: number }): URLSearchParams {
  const params = new URLSearchParams();
  for (const name of ['actor', 'kind', 'since', 'until', 'cursor'] as const) {
    const value = query[name];
    if (value) params.set(name, value);
  }
  if (query.limit) params.set('limit', String(query.limit));
  return params;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
