import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { runFota } from '../support/fota-cli.js';
import { httpRequest } from '../support/http-get.js';
import { freePort, newAdminToken } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';
import { createDatabase, dropDatabase } from '../services/postgres.js';

/**
 * The nginx and HAProxy configurations of docs/deploy.md ("Three nodes behind a load balancer"),
 * taken from the document as they are, their public addresses and the nodes' addresses replaced by
 * free loopback ports, pid, logs and temporary folders put in a temporary folder, a self-signed
 * certificate for fota.example.com, in front of two `fota serve` nodes sharing PostgreSQL, the S3
 * bucket and Redis. Through each: HTTPS and HTTP requests, a TCP heartbeat on both MCS ports, an
 * MQTT and an MQTT-over-TLS subscription, each seen by the cluster. (The third node of the
 * document is left out; LinkIt 7681 is off on the nodes, so its streams lead nowhere.)
 */
const DOC = new URL('../../docs/deploy.md', import.meta.url);
const NGINX = '/usr/sbin/nginx';
const HAPROXY = '/usr/sbin/haproxy';

/** The fenced block after `<!-- load-balancer-test: NAME -->`. */
async function documentBlock(name: string): Promise<string> {
  const text = await readFile(DOC, 'utf8');
  const marker = text.indexOf(`<!-- load-balancer-test: ${name} -->`);
  if (marker < 0) throw new Error(`docs/deploy.md has no <!-- load-balancer-test: ${name} --> marker`);
  const block = /```[a-z]*\n([\s\S]*?)\n```/.exec(text.slice(marker));
  if (!block) throw new Error(`no fenced block after the ${name} marker of docs/deploy.md`);
  return `${block[1]!}\n`;
}

interface Node {
  readonly server: ChildServer;
  readonly env: Record<string, string>;
  /** The document's node port → this node's loopback port. */
  readonly ports: Map<number, number>;
}

let dir: string;
let databaseUrl: string;
const nodes: Node[] = [];
const adminToken = newAdminToken();
const cert = { cert: '', key: '', pem: '', ca: '' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fota-lb-'));
  databaseUrl = await createDatabase(inject('postgresUrl'));
  const s3 = inject('s3');
  const shared = {
    FOTA_HOST: '127.0.0.1',
    FOTA_DATABASE_URL: databaseUrl,
    FOTA_S3_BUCKET: s3.bucket,
    FOTA_S3_ENDPOINT: s3.endpoint,
    FOTA_S3_REGION: s3.region,
    FOTA_S3_ACCESS_KEY_ID: s3.accessKeyId,
    FOTA_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    FOTA_S3_PREFIX: `lb-${randomUUID()}/`,
    FOTA_REDIS_URL: inject('redisUrl'),
    FOTA_ADMIN_TOKEN: adminToken,
    FOTA_PUBLIC_URL: 'http://fota.example.com',
    FOTA_TCP_PUBLIC_HOST: '203.0.113.11',
    FOTA_LOG_LEVEL: 'warn',
    FOTA_LOG_FORMAT: 'json',
    // The balancer's connections come from 127.0.0.1; the document's streams send a PROXY header.
    FOTA_TRUSTED_PROXIES: '127.0.0.1',
    FOTA_PROXY_PROTOCOL: 'tcp,mqtt,linkit7681',
    // Three failures at once per source address, then one a minute.
    FOTA_AUTH_FAILURE_BURST: '3',
    FOTA_AUTH_FAILURES_PER_MINUTE: '1',
  };
  expect((await runFota(['migrate'], { ...shared, FOTA_DATA_DIR: join(dir, 'migrate') })).code).toBe(0);
  const suffix = randomBytes(3).toString('hex');
  for (const index of [1, 2]) {
    const ports = new Map([
      [8080, await freePort()],
      [4443, await freePort()],
      [1883, await freePort()],
      // LinkIt 7681 (discovery, commands): off on these nodes, nothing listens.
      [8081, await freePort()],
      [7681, await freePort()],
    ]);
    const env = {
      ...shared,
      FOTA_NODE_ID: `lb-node-${index}-${suffix}`,
      FOTA_DATA_DIR: join(dir, `node-${index}`),
      FOTA_HTTP_PORT: String(ports.get(8080)),
      FOTA_TCP_PORT: String(ports.get(4443)),
      FOTA_MQTT_PORT: String(ports.get(1883)),
    };
    nodes.push({ server: await startChildServer(env), env, ports });
  }
  // A certificate for fota.example.com, as the document's TLS listeners expect one.
  cert.cert = join(dir, 'fullchain.pem');
  cert.key = join(dir, 'privkey.pem');
  cert.pem = join(dir, 'fota.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=fota.example.com',
      '-addext',
      'subjectAltName=DNS:fota.example.com',
      '-keyout',
      cert.key,
      '-out',
      cert.cert,
    ],
    { stdio: 'pipe' },
  );
  cert.ca = await readFile(cert.cert, 'utf8');
  await writeFile(cert.pem, cert.ca + (await readFile(cert.key, 'utf8')));
});

afterAll(async () => {
  for (const node of nodes) await node.server.kill('SIGTERM');
  if (databaseUrl) await dropDatabase(databaseUrl);
  await rm(dir, { recursive: true, force: true });
});

/** The public ports of a configuration, each on its own free loopback port. */
type Listeners = Map<string, number>;

/**
 * The document's configuration with loopback ports: each public `address:port` gets a free port,
 * each node's `10.0.0.1N:port` becomes that node's port (node 3's lines go), and every root path
 * moves into `folder`. Fails if an address or a root path is left.
 */
async function localize(text: string, folder: string, extra: Record<string, string>): Promise<[string, Listeners]> {
  const listeners: Listeners = new Map();
  for (const [address] of text.matchAll(/203\.0\.113\.1[01]:\d+/g)) {
    if (!listeners.has(address)) listeners.set(address, await freePort());
  }
  let local = text
    .split('\n')
    .filter((line) => !line.includes('10.0.0.13:'))
    .join('\n')
    .replace(/203\.0\.113\.1[01]:\d+/g, (address) => `127.0.0.1:${listeners.get(address)}`)
    .replace(/10\.0\.0\.1([12]):(\d+)/g, (_, index: string, port: string) => {
      const mapped = nodes[Number(index) - 1]!.ports.get(Number(port));
      if (mapped === undefined)
        throw new Error(`the document names port ${port} of a node, which the test does not map`);
      return `127.0.0.1:${mapped}`;
    })
    .replaceAll('/etc/ssl/fota/fullchain.pem', cert.cert)
    .replaceAll('/etc/ssl/fota/privkey.pem', cert.key)
    .replaceAll('/etc/haproxy/fota.pem', cert.pem)
    .replaceAll('/run/nginx.pid', join(folder, 'nginx.pid'))
    .replaceAll('/var/log/nginx/', `${folder}/`);
  for (const [from, to] of Object.entries(extra)) local = local.replaceAll(from, to);
  // Comments aside, nothing of the document's addresses or root paths may be left.
  const left = /203\.0\.113\.|10\.0\.0\.|(?<![\w/.-])\/(etc|var|run|dev)\//.exec(local.replace(/#.*$/gm, ''));
  if (left) throw new Error(`the test left ${left[0]} in the configuration:\n${local}`);
  return [local, listeners];
}

interface Proxy {
  readonly listeners: Listeners;
  readonly process: ChildProcess;
  output(): string;
}

/** Starts a proxy in the foreground (it dies with this process: a parent-death signal). */
async function startProxy(args: string[], listeners: Listeners, firstPort: number): Promise<Proxy> {
  const child = spawn('setpriv', ['--pdeathsig', 'TERM', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!(await accepts(firstPort))) {
    if (child.exitCode !== null) throw new Error(`${args[0]} exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`${args[0]} did not listen within 30 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { listeners, process: child, output: () => output };
}

async function stopProxy(proxy: Proxy | undefined): Promise<void> {
  if (!proxy || proxy.process.exitCode !== null || proxy.process.signalCode !== null) return;
  const exited = once(proxy.process, 'exit');
  proxy.process.kill('SIGTERM');
  await exited;
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const proxies: Record<string, () => Promise<Proxy>> = {
  async nginx() {
    if (!existsSync(NGINX)) throw new Error(`${NGINX} is not installed: apt-get install nginx libnginx-mod-stream`);
    if (!existsSync('/usr/lib/nginx/modules/ngx_stream_module.so')) {
      throw new Error('nginx has no stream module: apt-get install libnginx-mod-stream');
    }
    const folder = join(dir, `nginx-${randomBytes(3).toString('hex')}`);
    await mkdir(folder);
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((kind) => `    ${kind}_temp_path ${join(folder, kind)};`)
      .join('\n');
    const [text, listeners] = await localize(await documentBlock('nginx'), folder, {
      '\nhttp {\n': `\nhttp {\n${temp}\n`,
    });
    const conf = join(folder, 'nginx.conf');
    await writeFile(conf, text);
    const args = [NGINX, '-p', `${folder}/`, '-c', conf, '-e', join(folder, 'error.log')];
    const test = spawnSync(args[0]!, [...args.slice(1), '-t'], { encoding: 'utf8' });
    expect(test.stderr, 'nginx -t').toContain('test is successful');
    return startProxy([...args, '-g', 'daemon off;'], listeners, listeners.get('203.0.113.10:80')!);
  },
  async haproxy() {
    if (!existsSync(HAPROXY)) throw new Error(`${HAPROXY} is not installed: apt-get install haproxy`);
    const folder = join(dir, `haproxy-${randomBytes(3).toString('hex')}`);
    await mkdir(folder);
    const [text, listeners] = await localize(await documentBlock('haproxy'), folder, {
      'log /dev/log local0 warning': 'log stderr format raw local0 warning',
      // Twice maxconn open files: more than a test machine's limit allows.
      'maxconn 200000': 'maxconn 4000',
    });
    const conf = join(folder, 'haproxy.cfg');
    await writeFile(conf, text);
    const check = spawnSync(HAPROXY, ['-c', '-f', conf], { encoding: 'utf8' });
    expect(check.status, `haproxy -c:\n${check.stdout}${check.stderr}`).toBe(0);
    return startProxy([HAPROXY, '-f', conf, '-db'], listeners, listeners.get('203.0.113.10:80')!);
  },
};

/** A request over TLS to the proxy as to fota.example.com, trusting the test certificate. */
function https(
  port: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        servername: 'fota.example.com',
        ca: cert.ca,
        headers: {
          host: 'fota.example.com',
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            headers: response.headers,
            body: text === '' ? undefined : JSON.parse(text),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Per configuration, a device address whose guesses get it throttled and one of a good device. */
const sources: Record<string, { guesser: string; device: string }> = {
  nginx: { guesser: '127.0.0.2', device: '127.0.0.3' },
  haproxy: { guesser: '127.0.0.4', device: '127.0.0.5' },
};
const WRONG_KEY = 'WrongWrongWrong0';

/** Whether an mqtt.js client connecting from `localAddress` gets its CONNECT accepted. */
function mqttFrom(port: number, localAddress: string, clientId: string): Promise<MqttClient | undefined> {
  const client = new MqttClient(() => connect({ port, host: '127.0.0.1', localAddress }), {
    clientId,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 20_000,
    protocolVersion: 4,
  });
  client.on('error', () => undefined);
  return new Promise((resolve) => {
    client.once('connect', () => resolve(client));
    client.once('close', () => {
      client.end(true);
      resolve(undefined);
    });
  });
}

describe.each(Object.keys(proxies))('the %s configuration of docs/deploy.md', (name) => {
  let proxy: Proxy | undefined;
  const port = (address: string) => proxy!.listeners.get(address)!;
  const clients: mqtt.MqttClient[] = [];
  const sockets: TcpDevice[] = [];
  let prototypeId: string;

  beforeAll(async () => {
    proxy = await proxies[name]!();
  });
  afterAll(async () => {
    for (const client of clients) client.end(true);
    for (const socket of sockets) socket.close();
    await stopProxy(proxy);
  });

  const newDevice = async (label: string) => {
    const created = await https(port('203.0.113.10:443'), 'POST', `/api/v1/prototypes/${prototypeId}/devices`, {
      name: label,
    });
    expect(created.status).toBe(201);
    return created.body as { deviceId: string; deviceKey: string };
  };
  const presence = async (deviceId: string) =>
    (await https(port('203.0.113.10:443'), 'GET', `/api/v1/devices/${deviceId}`)).body.presence;

  it('serves the management API over HTTPS and the device API over HTTP, and sends the rest to HTTPS', async () => {
    const created = await https(port('203.0.113.10:443'), 'POST', '/api/v1/prototypes', { name: `behind ${name}` });
    expect(created.status).toBe(201);
    prototypeId = created.body.prototypeId;
    const device = await newDevice('http');
    const plain = `http://127.0.0.1:${port('203.0.113.10:80')}`;
    const csv = await httpRequest(`${plain}/mcs/v2/devices/${device.deviceId}/connections.csv`, {
      headers: { deviceKey: device.deviceKey, host: 'fota.example.com' },
    });
    expect(csv.status).toBe(200);
    // What the document's nodes answer as 203.0.113.11,4443; these listen on free ports instead.
    expect(nodes.map(({ ports }) => `203.0.113.11,${ports.get(4443)}`)).toContain(csv.body.toString());
    const other = await httpRequest(`${plain}/api/v1/server`, { headers: { host: 'fota.example.com' } });
    expect(other.status).toBe(301);
    expect(other.headers.location).toBe('https://fota.example.com/api/v1/server');
  });

  it.each(['203.0.113.11:443', '203.0.113.11:4443'])(
    'passes a TCP heartbeat on %s to a node, which echoes it and shows the device online',
    async (address) => {
      const device = await newDevice(`tcp ${address}`);
      const socket = await TcpDevice.connect(port(address));
      sockets.push(socket);
      socket.send(`${device.deviceId},${device.deviceKey},0`);
      await socket.waitFor(`${device.deviceId},${device.deviceKey},`, 20_000);
      await vi.waitFor(async () => expect(await presence(device.deviceId)).toMatchObject({ online: true }), {
        timeout: 20_000,
        interval: 200,
      });
    },
  );

  it.each([
    ['mqtt', '203.0.113.10:1883'],
    ['mqtt', '203.0.113.11:1883'],
    ['mqtts', '203.0.113.10:8883'],
  ])('passes an MQTT subscription (%s on %s) to a node, which shows the device online', async (scheme, address) => {
    const device = await newDevice(`${scheme} ${address}`);
    const client = await mqtt.connectAsync(`${scheme}://127.0.0.1:${port(address)}`, {
      clientId: `lb-${device.deviceId}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 20_000,
      ...(scheme === 'mqtts' ? { ca: cert.ca, servername: 'fota.example.com' } : {}),
    });
    client.on('error', () => undefined);
    clients.push(client);
    const granted = await client.subscribeAsync(`mcs/${device.deviceId}/${device.deviceKey}/+`, { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    await vi.waitFor(async () => expect(await presence(device.deviceId)).toMatchObject({ online: true }), {
      timeout: 20_000,
      interval: 200,
    });
  });

  it('tells the nodes each device’s own address: a guesser is throttled on every surface, a good device through the same balancer is not', async () => {
    const { guesser, device: good } = sources[name]!;
    const target = await newDevice('guessed');
    const device = await newDevice('next to a guesser');
    const tcp = port('203.0.113.11:4443');
    const heartbeatFrom = async (localAddress: string, key: string, deviceId = target.deviceId) => {
      const socket = await TcpDevice.connect(tcp, localAddress);
      socket.send(`${deviceId},${key},0`);
      await vi.waitFor(() => expect(socket.isClosed() || socket.text().length > 0).toBe(true), {
        timeout: 20_000,
        interval: 50,
      });
      const echoed = socket.text().length > 0;
      socket.close();
      return echoed;
    };
    for (let i = 0; i < 3; i++) expect(await heartbeatFrom(guesser, WRONG_KEY)).toBe(false);
    // The guesser's address is over its limit on both nodes (the throttle is shared through Redis):
    // its right key is refused too, over TCP, MQTT and HTTP.
    await vi.waitFor(async () => expect(await heartbeatFrom(guesser, target.deviceKey)).toBe(false), {
      timeout: 20_000,
      interval: 500,
    });
    const mqttPort = port('203.0.113.11:1883');
    await vi.waitFor(async () => expect(await mqttFrom(mqttPort, guesser, `guesser-${name}`)).toBeUndefined(), {
      timeout: 20_000,
      interval: 500,
    });
    const csv = (localAddress: string, credentials: { deviceId: string; deviceKey: string }) =>
      httpRequest(
        `http://127.0.0.1:${port('203.0.113.10:80')}/mcs/v2/devices/${credentials.deviceId}/connections.csv`,
        { headers: { deviceKey: credentials.deviceKey, host: 'fota.example.com' }, localAddress },
      );
    expect((await csv(guesser, target)).status).toBe(429);

    // The device next to it, through the same balancer, from its own address: served everywhere.
    expect(await heartbeatFrom(good, device.deviceKey, device.deviceId)).toBe(true);
    const client = await mqttFrom(mqttPort, good, `good-${name}`);
    expect(client).toBeDefined();
    clients.push(client!);
    const granted = await client!.subscribeAsync(`mcs/${device.deviceId}/${device.deviceKey}/+`, { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    expect((await csv(good, device)).status).toBe(200);
    // And the balancer itself (the management API over HTTPS) is not throttled either.
    expect(await presence(device.deviceId)).toMatchObject({ online: true });
  });
});

describe('the nodes behind the balancer', () => {
  it('are both listed by fota doctor, every check passing', async () => {
    const run = await runFota(['doctor'], nodes[0]!.env);
    expect(run.stdout).toMatch(new RegExp(`cluster nodes: .*${nodes[0]!.env['FOTA_NODE_ID']}`));
    expect(run.stdout).toMatch(new RegExp(`cluster nodes: .*${nodes[1]!.env['FOTA_NODE_ID']}`));
    expect(run.stdout).toContain('Every check passed.');
    expect(run.code).toBe(0);
  });
});
