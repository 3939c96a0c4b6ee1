import { ApiError, HttpClient, type Role, type Uploader } from '../../src/contract/http-client.js';

/** The console's one API client, on the page's own origin. */
export const client = new HttpClient('');

const TOKEN_KEY = 'fota.adminToken';

export interface Signed {
  readonly email: string;
  readonly role: Role;
  /** 'session': a cookie; 'token': the admin token kept in this tab's sessionStorage. */
  readonly via: 'session' | 'token';
}

/** Restores a sign-in: the admin token of this tab, or the session cookie; undefined when neither. */
export async function restore(): Promise<Signed | undefined> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token !== null) {
    client.credentials = { kind: 'bearer', token };
    try {
      await client.serverInfo();
      return { email: 'admin token', role: 'admin', via: 'token' };
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      else throw error;
    }
  }
  client.credentials = { kind: 'none' };
  try {
    const session = await client.session();
    client.credentials = { kind: 'session', csrfToken: session.csrfToken };
    return { email: session.user.email, role: session.user.role, via: 'session' };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return undefined;
    throw error;
  }
}

export async function signInWithPassword(email: string, password: string): Promise<Signed> {
  client.credentials = { kind: 'none' };
  const session = await client.signIn({ email, password });
  client.credentials = { kind: 'session', csrfToken: session.csrfToken };
  return { email: session.user.email, role: session.user.role, via: 'session' };
}

/**
 * Signs in with the admin token: into a session where the server has sessions, otherwise (the
 * session route answers 404) the token itself is kept for this tab and sent as a bearer token.
 */
export async function signInWithToken(token: string): Promise<Signed> {
  client.credentials = { kind: 'bearer', token };
  try {
    const session = await client.signIn({ adminToken: token });
    client.credentials = { kind: 'session', csrfToken: session.csrfToken };
    return { email: session.user.email, role: session.user.role, via: 'session' };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) {
      client.credentials = { kind: 'none' };
      throw error;
    }
  }
  await client.serverInfo();
  sessionStorage.setItem(TOKEN_KEY, token);
  return { email: 'admin token', role: 'admin', via: 'token' };
}

export async function signOut(signed: Signed): Promise<void> {
  sessionStorage.removeItem(TOKEN_KEY);
  try {
    if (signed.via === 'session') await client.signOut();
  } finally {
    client.credentials = { kind: 'none' };
  }
}

/** Uploads over XMLHttpRequest, the one browser API that reports upload progress. */
export const xhrUpload: Uploader = (url, body, headers, onProgress) =>
  new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total);
    request.onload = () => resolve({ status: request.status, text: request.responseText });
    request.onerror = () => reject(new Error('the connection failed'));
    request.send(body);
  });

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.status > 0 ? `${error.message} (HTTP ${error.status})` : error.message;
  return error instanceof Error ? error.message : String(error);
}
