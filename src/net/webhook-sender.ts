import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { RESPONSE_EXCERPT_BYTES } from '../domain/webhooks/model.js';
import type { SendResult, WebhookSender } from '../domain/webhooks/ports.js';

/**
 * Addresses that are not the public internet: loopback, private networks (RFC 1918, unique local
 * IPv6), link-local (cloud metadata services live at 169.254.169.254), carrier-grade NAT,
 * benchmarking, multicast and reserved ranges, unspecified. IPv4-mapped IPv6 is checked as IPv4.
 */
const privateRanges = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address is loopback, private, link-local or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return privateRanges.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return privateRanges.check(mapped[1]!, 'ipv4');
  return privateRanges.check(address, 'ipv6');
}

const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Why a URL may not be posted to, judged on its text (an IP address, `localhost`); names are judged when resolved. */
export function urlRefusal(url: URL, allowPrivate: boolean): string | undefined {
  if (allowPrivate) return undefined;
  const host = hostOf(url).toLowerCase();
  if (isPrivateAddress(host) || host === 'localhost' || host.endsWith('.localhost')) {
    return `${host} is a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false`;
  }
  return undefined;
}

class RefusedAddress extends Error {}

/**
 * Posts deliveries with node:http(s): no redirect is followed (a 3xx is an answer like any other
 * non-2xx), each try ends within `timeoutMs`, and only the first RESPONSE_EXCERPT_BYTES of an
 * answer are read. Unless private addresses are allowed, every address a name resolves to is
 * checked before connecting (the connection goes to the address checked, so a name cannot
 * resolve to a public address for the check and a private one for the post).
 */
export class HttpWebhookSender implements WebhookSender {
  constructor(private readonly options: { readonly timeoutMs: number; readonly allowPrivate: boolean }) {}

  post(request: { url: string; headers: Readonly<Record<string, string>>; body: string }): Promise<SendResult> {
    const url = new URL(request.url);
    const refusal = urlRefusal(url, this.options.allowPrivate);
    if (refusal !== undefined) return Promise.resolve({ kind: 'error', message: `refused: ${refusal}` });
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      let done = false;
      const finish = (result: SendResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(result);
      };
      const outgoing = client.request(url, {
        method: 'POST',
        agent: false,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        ...(this.options.allowPrivate ? {} : { lookup: this.guardedLookup }),
      });
      const timer = setTimeout(() => {
        finish({ kind: 'error', message: `no answer within ${this.options.timeoutMs / 1000} s` });
        outgoing.destroy();
      }, this.options.timeoutMs);
      outgoing.on('error', (error: NodeJS.ErrnoException) => finish({ kind: 'error', message: describe(error) }));
      outgoing.on('response', (response) => {
        const parts: Buffer[] = [];
        let size = 0;
        const answer = () => {
          finish({
            kind: 'answered',
            status: response.statusCode ?? 0,
            excerpt: Buffer.concat(parts).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8'),
          });
          response.destroy();
        };
        response.on('data', (chunk: Buffer) => {
          parts.push(chunk);
          size += chunk.length;
          if (size >= RESPONSE_EXCERPT_BYTES) answer();
        });
        response.on('end', answer);
        response.on('error', answer);
      });
      outgoing.end(request.body);
    });
  }

  private readonly guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 4);
      const refused = addresses.find((address) => isPrivateAddress(address.address));
      if (refused) {
        const reason = `${hostname} resolves to ${refused.address}, a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false`;
        return callback(new RefusedAddress(reason), '', 4);
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

function describe(error: NodeJS.ErrnoException): string {
  if (error instanceof RefusedAddress) return `refused: ${error.message}`;
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  if (error.code === 'ENOTFOUND') return 'no such host';
  if (error.code === 'ECONNRESET') return 'connection reset';
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
