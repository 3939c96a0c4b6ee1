import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { S3Settings } from '../../src/config/index.js';
import { S3BlobStore } from '../../src/storage/s3/s3-blob-store.js';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { eventually } from '../support/data-dir.js';
import { runFota, stopAllFota } from '../support/fota-cli.js';
import { httpRequest } from '../support/http-get.js';
import { startServer, testEnvironment, uploadFirmware, type TestServer } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

const engine = inject('s3');
const client = new S3Client({
  endpoint: engine.endpoint,
  region: engine.region,
  forcePathStyle: true,
  credentials: { accessKeyId: engine.accessKeyId, secretAccessKey: engine.secretAccessKey },
});

/** The variables of a server that keeps its firmware under a key prefix of its own in the run's bucket. */
const s3Environment = (prefix: string, extra: Record<string, string> = {}): Record<string, string> => ({
  FOTA_S3_BUCKET: engine.bucket,
  FOTA_S3_ENDPOINT: engine.endpoint,
  FOTA_S3_REGION: engine.region,
  FOTA_S3_ACCESS_KEY_ID: engine.accessKeyId,
  FOTA_S3_SECRET_ACCESS_KEY: engine.secretAccessKey,
  FOTA_S3_PREFIX: prefix,
  ...extra,
});

/** `fota serve` as users run it, with S3 storage, and a management API call with its admin token. */
interface Served {
  readonly child: ChildServer;
  readonly env: Record<string, string>;
  readonly prefix: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** What `uploadFirmware` needs of a server. */
  readonly target: TestServer;
}

async function serve(extra: Record<string, string> = {}): Promise<Served> {
  const prefix = `srv-${randomUUID()}/`;
  const env = await testEnvironment(s3Environment(prefix, extra));
  const child = await startChildServer(env);
  const token = env['FOTA_ADMIN_TOKEN']!;
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${child.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  return { child, env, prefix, api, target: { url: child.url, token } as TestServer };
}

async function stopServed(served: Served | undefined): Promise<void> {
  if (!served) return;
  await served.child.kill('SIGTERM');
  await rm(served.env['FOTA_DATA_DIR']!, { recursive: true, force: true });
}

async function objectsUnder(prefix: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: engine.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key!).sort();
}

const content = randomBytes(6 * 1024 * 1024 + 123);
const sha256 = createHash('sha256').update(content).digest('hex');
const md5 = createHash('md5').update(content).digest('hex');
const md5Of = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

afterAll(() => {
  stopAllFota();
  client.destroy();
});

describe('fota serve with S3 storage, proxy downloads (the default)', () => {
  let served: Served;
  let firmware: any;

  beforeAll(async () => {
    served = await serve();
    const prototypeId = (await served.api('POST', '/prototypes', { name: 's3 proxy' })).body.prototypeId;
    const uploaded = await uploadFirmware(served.target, prototypeId, { name: 'big', version: '1.0' }, content);
    expect(uploaded.status).toBe(201);
    firmware = uploaded.body;
  });
  afterAll(() => stopServed(served));

  it('keeps the upload in the bucket under prefix/blobs/<sha256>, and nothing in the data folder or staging', async () => {
    expect(firmware).toMatchObject({ sha256, md5, size: content.length });
    expect(await objectsUnder(served.prefix)).toEqual([`${served.prefix}blobs/${sha256}`]);
    const head = await client.send(
      new HeadObjectCommand({ Bucket: engine.bucket, Key: `${served.prefix}blobs/${sha256}` }),
    );
    expect(head.ContentLength).toBe(content.length);
    const dataDir = served.env['FOTA_DATA_DIR']!;
    expect(await readdir(dataDir)).not.toContain('blobs');
    expect((await readdir(dataDir)).some((name) => name.startsWith('fota.sqlite'))).toBe(true);
  });

  it('streams the whole firmware through fota with its checksums', async () => {
    const answer = await httpRequest(`${served.child.url}/fw/${firmware.fwId}`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-length']).toBe(String(content.length));
    expect(answer.headers['x-checksum-md5']).toBe(md5);
    expect(answer.body.equals(content)).toBe(true);
  });

  it.each([
    ['bytes=0-0', 0, 0],
    ['bytes=100-199', 100, 199],
    ['bytes=5242870-5242889', 5_242_870, 5_242_889],
    ['bytes=-1000', content.length - 1000, content.length - 1],
    [`bytes=${content.length - 10}-`, content.length - 10, content.length - 1],
  ])('answers Range %s with exactly those bytes from the bucket', async (range, start, end) => {
    const answer = await httpRequest(`${served.child.url}/fw/${firmware.fwId}`, { headers: { range } });
    expect(answer.status).toBe(206);
    expect(answer.headers['content-range']).toBe(`bytes ${start}-${end}/${content.length}`);
    expect(answer.body.equals(content.subarray(start, end + 1))).toBe(true);
  });

  it('removes the object from the bucket when the firmware is deleted', async () => {
    const prototypeId = (await served.api('POST', '/prototypes', { name: 'deleted' })).body.prototypeId;
    const other = Buffer.from(`short-lived ${randomUUID()}`);
    const created = (await uploadFirmware(served.target, prototypeId, { name: 'gone', version: '1' }, other)).body;
    const key = `${served.prefix}blobs/${createHash('sha256').update(other).digest('hex')}`;
    expect(await objectsUnder(served.prefix)).toContain(key);
    expect((await served.api('DELETE', `/firmwares/${created.fwId}`)).status).toBe(204);
    expect(await objectsUnder(served.prefix)).not.toContain(key);
  });
});

describe('fota serve with S3 storage, redirect downloads', () => {
  let served: Served;
  let prototypeId: string;
  let firmware: any;

  beforeAll(async () => {
    served = await serve({ FOTA_DOWNLOAD_MODE: 'redirect', FOTA_DOWNLOAD_URL_TTL_S: '120' });
    prototypeId = (await served.api('POST', '/prototypes', { name: 's3 redirect' })).body.prototypeId;
    firmware = (await uploadFirmware(served.target, prototypeId, { name: 'big', version: '1.0' }, content)).body;
  });
  afterAll(() => stopServed(served));

  it('answers 302 to a presigned URL of the bucket, never cached; following it gives the same bytes and MD5', async () => {
    const answer = await fetch(`${served.child.url}/fw/${firmware.fwId}`, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const location = new URL(answer.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(
      `${engine.endpoint}/${engine.bucket}/${served.prefix}blobs/${sha256}`,
    );
    expect(location.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(location.href).not.toContain(engine.secretAccessKey);

    const followed = await httpRequest(location.href);
    expect(followed.status).toBe(200);
    expect(followed.body.equals(content)).toBe(true);
    expect(md5Of(followed.body)).toBe(firmware.md5);
    expect(followed.headers['content-disposition']).toMatch(/^attachment; filename="fw\.bin"/);
  });

  it('lets the bucket answer a Range on the URL it redirected to', async () => {
    const answer = await fetch(`${served.child.url}/fw/${firmware.fwId}`, { redirect: 'manual' });
    const ranged = await httpRequest(answer.headers.get('location')!, { headers: { range: 'bytes=1000-1999' } });
    expect(ranged.status).toBe(206);
    expect(ranged.body.equals(content.subarray(1000, 2000))).toBe(true);
  });

  it('a presigned URL with a tampered signature or key is refused by the engine', async () => {
    const location = new URL(
      (await fetch(`${served.child.url}/fw/${firmware.fwId}`, { redirect: 'manual' })).headers.get('location')!,
    );
    const otherKey = new URL(location.href.replace(`blobs/${sha256}`, `blobs/${'0'.repeat(64)}`));
    expect((await httpRequest(otherKey.href)).status).toBe(403);
    const signature = location.searchParams.get('X-Amz-Signature')!;
    location.searchParams.set('X-Amz-Signature', signature.replace(/^./, signature.startsWith('0') ? '1' : '0'));
    expect((await httpRequest(location.href)).status).toBe(403);
  });

  it('answers HEAD itself, with the headers of a download and no redirect', async () => {
    const answer = await httpRequest(`${served.child.url}/fw/${firmware.fwId}`, { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-length']).toBe(String(content.length));
    expect(answer.headers['location']).toBeUndefined();
  });

  it('sends devices fota’s own short URL in the FOTA line; its GET marks the target downloading, then redirects', async () => {
    const device = (await served.api('POST', `/prototypes/${prototypeId}/devices`, { name: 'd' })).body;
    const socket = await TcpDevice.connect(Number(served.env['FOTA_TCP_PORT']));
    try {
      socket.send(`${device.deviceId},${device.deviceKey},0`);
      await eventually(
        () => served.api('GET', `/devices/${device.deviceId}`),
        (answer) => answer.body.presence.online === true,
      );
      const pushed = await served.api('POST', `/firmwares/${firmware.fwId}/push`, { deviceIds: [device.deviceId] });
      expect(pushed.status).toBe(201);
      const base = served.child.url.replace(/\./g, '\\.');
      const pattern = new RegExp(`,FOTA,1\\.0,${md5},(${base}/fw/p/[A-Za-z0-9]{21})$`);
      const url = pattern.exec(await socket.waitFor(pattern))![1]!;

      const answer = await fetch(url, { redirect: 'manual' });
      expect(answer.status).toBe(302);
      expect(answer.headers.get('location')).toContain(`/${served.prefix}blobs/${sha256}?`);
      await eventually(
        () => served.api('GET', `/pushes/${pushed.body.pushId}/targets`),
        (targets) => targets.body.targets[0]?.status === 'downloading',
      );
      const followed = await httpRequest(answer.headers.get('location')!);
      expect(md5Of(followed.body)).toBe(md5);
    } finally {
      socket.close();
    }
  });
});

describe('redirect downloads to a CDN, and the size limit, in one server', () => {
  const prefix = `cdn-${randomUUID()}/`;
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(
      s3Environment(prefix, {
        FOTA_DOWNLOAD_MODE: 'redirect',
        FOTA_DOWNLOAD_CDN_URL: 'https://cdn.example.com/firmware/',
        FOTA_MAX_FIRMWARE_BYTES: String(9 * 1024 * 1024),
      }),
    );
  });
  afterAll(() => server.stop());

  it('answers 302 to the CDN base and the object key, without a signature', async () => {
    const prototypeId = (await server.api<any>('POST', '/prototypes', { name: 'cdn' })).body.prototypeId;
    const small = Buffer.from('served by the CDN');
    const firmware = (await uploadFirmware(server, prototypeId, { name: 'c', version: '1' }, small)).body;
    expect(await objectsUnder(prefix)).toEqual([`${prefix}blobs/${firmware.sha256}`]);
    const answer = await fetch(`${server.url}/fw/${firmware.fwId}`, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    expect(answer.headers.get('location')).toBe(`https://cdn.example.com/firmware/${prefix}blobs/${firmware.sha256}`);
  });

  it('refuses an upload past FOTA_MAX_FIRMWARE_BYTES with 413 past one upload part (8 MiB), and leaves nothing in the bucket', async () => {
    const prototypeId = (await server.api<any>('POST', '/prototypes', { name: 'too large' })).body.prototypeId;
    const before = await objectsUnder(prefix);
    const refused = await uploadFirmware(
      server,
      prototypeId,
      { name: 'big', version: '1' },
      randomBytes(10 * 1024 * 1024),
    );
    expect(refused.status).toBe(413);
    expect(await objectsUnder(prefix)).toEqual(before);
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: engine.bucket, Prefix: prefix }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });
});

describe('presigned URLs expire', () => {
  it('a URL past its lifetime is refused by the engine (403), one within it is honoured', async () => {
    const settings: S3Settings = {
      endpoint: engine.endpoint,
      bucket: engine.bucket,
      region: engine.region,
      accessKeyId: engine.accessKeyId,
      secretAccessKey: engine.secretAccessKey,
      forcePathStyle: true,
      prefix: `expiry-${randomUUID()}/`,
      stagingGraceMs: 3600_000,
    };
    const store = new S3BlobStore(settings);
    try {
      const staged = await store.stage(Readable.from([Buffer.from('expires')]), { maxBytes: 100 });
      await store.commit(staged);
      const short = await store.presignedGet(staged.sha256, 1);
      const long = await store.presignedGet(staged.sha256, 600);
      // Well past the one second (S3 dates have whole seconds).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const expired = await httpRequest(short);
      expect(expired.status).toBe(403);
      expect(expired.body.toString()).toMatch(/AccessDenied|expired/i);
      const honoured = await httpRequest(long);
      expect(honoured.status).toBe(200);
      expect(honoured.body.toString()).toBe('expires');
    } finally {
      store.close();
    }
  });
});

describe('fota serve refuses a storage it cannot use, in words', () => {
  it('refuses FOTA_DOWNLOAD_MODE=redirect without S3 storage', async () => {
    const env = await testEnvironment({ FOTA_DOWNLOAD_MODE: 'redirect' });
    const run = await runFota(['serve'], env);
    await rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('FOTA_DOWNLOAD_MODE=redirect needs S3 storage (set FOTA_S3_BUCKET)');
  });

  it('refuses a missing bucket, naming FOTA_S3_BUCKET and FOTA_S3_ENDPOINT', async () => {
    const env = await testEnvironment(s3Environment('x/', { FOTA_S3_BUCKET: 'no-such-bucket' }));
    const run = await runFota(['serve'], env);
    await rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^fota: the S3 bucket "no-such-bucket" \(FOTA_S3_BUCKET\) at http:\/\/127\.0\.0\.1:\d+ \(FOTA_S3_ENDPOINT\) cannot be reached/m,
    );
  });

  it('refuses a wrong secret without printing it', async () => {
    const secret = `wrong-${randomUUID()}`;
    const env = await testEnvironment(s3Environment('x/', { FOTA_S3_SECRET_ACCESS_KEY: secret }));
    const run = await runFota(['serve'], env);
    await rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/FOTA_S3_BUCKET.*HTTP 403.*FOTA_S3_SECRET_ACCESS_KEY/);
    expect(run.stdout + run.stderr).not.toContain(secret);
  });
});
