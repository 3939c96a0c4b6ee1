import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

/**
 * A small FOTA server on loopback for the simulator's tests: real sockets and a real MQTT broker,
 * with only what a simulated device touches (the MCS device API, downloads, the TCP command
 * server, the broker, and the few management routes `runSimulation` calls). It records what
 * devices send so tests can check the bytes.
 */
export interface LoopbackDevice {
  deviceId: string;
  deviceKey: string;
  name: string;
  createdAt: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly deviceKey: string | undefined;
  readonly body: string;
}

export interface TcpPeer {
  readonly socket: Socket;
  /** Every read, as it came. */
  readonly reads: Buffer[];
  deviceId: string | undefined;
  closed: boolean;
}

export interface MqttPeer {
  readonly clientId: string;
  readonly version: number;
  /** From its CONNECT packet. */
  readonly connect: { protocolId: string | undefined; keepalive: number | undefined; clean: boolean | undefined };
  readonly subscriptions: string[];
  readonly publishes: { topic: string; payload: string }[];
}

export interface LoopbackFota {
  readonly url: string;
  readonly mqttUrl: string;
  readonly tcpPort: number;
  readonly token: string;
  readonly prototypeId: string;
  readonly devices: LoopbackDevice[];
  /** Versions a device may report, lowest first (the prototype's firmwares). */
  readonly versions: string[];
  readonly requests: RecordedRequest[];
  readonly tcpPeers: TcpPeer[];
  readonly mqttPeers: Map<string, MqttPeer>;
  /** Echo each heartbeat read back to the device, as MCS did. */
  echo: boolean;
  /** What connections.csv answers instead of this TCP server, when set. */
  tcpAddress: string | undefined;
  addDevice(name: string): LoopbackDevice;
  /** Closes a client's MQTT connection from the broker's side. */
  dropMqtt(clientId: string): void;
  /** Serves `bytes` at `/fw/<name>`; returns the URL and the MD5. */
  firmware(name: string, bytes: Buffer): { url: string; md5: string };
  /** Holds the answers to downloads of `name` until the returned function is called. */
  holdDownloads(name: string): () => void;
  /** Serves a download that declares `declared` bytes and sends only `bytes` before closing. */
  truncatedFirmware(name: string, bytes: Buffer, declared: number): string;
  /** Writes to the live TCP connection of a device: by default the echo of its last heartbeat and the line, in one write. */
  sendTcp(deviceId: string, line: string, withEcho?: boolean): void;
  publishMqtt(topic: string, payload: string): Promise<void>;
  /** The versions each device reported, in order. */
  reports(deviceId: string): string[];
  livePeers(): TcpPeer[];
  stop(): Promise<void>;
}

const listen = (server: Server | ReturnType<typeof createHttpServer>): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

export async function startLoopbackFota(): Promise<LoopbackFota> {
  const files = new Map<string, { bytes: Buffer; declared: number }>();
  const gates = new Map<string, Promise<void>>();
  const devices: LoopbackDevice[] = [];
  const versions: string[] = [];
  const requests: RecordedRequest[] = [];
  const tcpPeers: TcpPeer[] = [];
  const mqttPeers = new Map<string, MqttPeer>();
  const mqttClients = new Map<string, { close(): void }>();
  const token = 'loopback-admin-token';
  const prototypeId = 'PLoopback001';
  let tcpPort = 0;
  let nextDevice = 1;

  const tcp = createTcpServer((socket) => {
    const peer: TcpPeer = { socket, reads: [], deviceId: undefined, closed: false };
    tcpPeers.push(peer);
    socket.on('data', (chunk: Buffer) => {
      peer.reads.push(chunk);
      peer.deviceId ??= chunk.toString('latin1').split(',')[0];
      if (fota.echo) socket.write(chunk);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      peer.closed = true;
    });
  });
  tcpPort = await listen(tcp);

  const connects = new Map<string, MqttPeer['connect']>();
  const broker = await Aedes.createBroker({
    preConnect: (_client, packet, callback) => {
      const { protocolId, keepalive, clean } = packet;
      connects.set(packet.clientId, { protocolId, keepalive, clean });
      callback(null, true);
    },
  });
  broker.on('clientReady', (client) => {
    mqttClients.set(client.id, client);
    mqttPeers.set(client.id, {
      clientId: client.id,
      version: client.version,
      connect: connects.get(client.id) ?? { protocolId: undefined, keepalive: undefined, clean: undefined },
      subscriptions: [],
      publishes: [],
    });
  });
  broker.on('subscribe', (subscriptions, client) => {
    mqttPeers.get(client.id)?.subscriptions.push(...subscriptions.map((subscription) => subscription.topic));
  });
  broker.on('publish', (packet, client) => {
    if (client) mqttPeers.get(client.id)?.publishes.push({ topic: packet.topic, payload: packet.payload.toString() });
  });
  const mqtt = createTcpServer(broker.handle);
  const mqttPort = await listen(mqtt);

  const http = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => answer(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  const httpPort = await listen(http);
  const url = `http://127.0.0.1:${httpPort}`;

  const json = (response: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  };

  function answer(request: IncomingMessage, response: ServerResponse, body: string): void {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const deviceKey = request.headers['devicekey'] as string | undefined;
    if (!gates.has(path.slice('/fw/'.length))) requests.push({ method: request.method ?? '', path, deviceKey, body });

    const file = /^\/fw\/(.+)$/.exec(path);
    if (file && request.method === 'GET') {
      const name = file[1] as string;
      const gate = gates.get(name);
      if (gate) return void gate.then(() => answer(request, response, body));
      const served = files.get(name);
      if (!served) return json(response, 404, {});
      response.writeHead(200, { 'content-length': served.declared });
      if (served.declared === served.bytes.length) response.end(served.bytes);
      else response.write(served.bytes, () => response.socket?.destroy());
      return;
    }

    if (path.startsWith('/api/v1/')) {
      if (request.headers.authorization !== `Bearer ${token}`)
        return json(response, 401, { error: { code: 'x', message: 'no' } });
      if (path === `/api/v1/prototypes/${prototypeId}/devices` && request.method === 'GET')
        return json(response, 200, devices);
      if (path === `/api/v1/prototypes/${prototypeId}/devices` && request.method === 'POST') {
        const device = fota.addDevice(JSON.parse(body).name);
        return json(response, 201, device);
      }
      if (path === `/api/v1/prototypes/${prototypeId}/firmwares` && request.method === 'GET') {
        return json(
          response,
          200,
          versions.map((version) => ({ version })),
        );
      }
      return json(response, 404, { error: { code: 'not_found', message: 'not found' } });
    }

    const device = /^\/mcs\/v2\/devices\/([^/]+)(\/.*)$/.exec(path);
    const known = devices.find((candidate) => candidate.deviceId === device?.[1]);
    if (!device || !known) return json(response, 404, { code: 404, message: '404 Not Found' });
    if (known.deviceKey !== deviceKey) return json(response, 401, { code: 401, message: '401' });
    const [, , rest] = device;
    if (rest === '/firmwares' && request.method === 'PUT') {
      const { version } = JSON.parse(body) as { version: string };
      if (!versions.includes(version)) return json(response, 404, { code: 404, message: '404 Not Found' });
      return json(response, 200, { code: 200, message: 'Request has succeeded', fwId: `F${version}` });
    }
    if (rest === '/connections.csv' && request.method === 'GET') {
      const text = fota.tcpAddress ?? `127.0.0.1,${tcpPort}`;
      response.writeHead(200, { 'content-type': 'text/csv', 'content-length': text.length });
      return void response.end(text);
    }
    if (rest === '/datapoints.csv' && request.method === 'POST') {
      response.writeHead(200, { 'content-type': 'text/csv', 'content-length': 8 });
      return void response.end('Success.');
    }
    json(response, 404, { code: 404, message: '404 Not Found' });
  }

  const fota: LoopbackFota = {
    url,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    tcpPort,
    token,
    prototypeId,
    devices,
    versions,
    requests,
    tcpPeers,
    mqttPeers,
    echo: true,
    tcpAddress: undefined,
    dropMqtt(clientId) {
      mqttClients.get(clientId)?.close();
    },
    addDevice(name: string) {
      const n = String(nextDevice++).padStart(7, '0');
      const device = {
        deviceId: `D${n}`,
        deviceKey: `K${n}`.padEnd(16, 'k'),
        name,
        createdAt: new Date(Date.now() + nextDevice).toISOString(),
      };
      devices.push(device);
      return device;
    },
    firmware(name, bytes) {
      files.set(name, { bytes, declared: bytes.length });
      return { url: `${url}/fw/${name}`, md5: createHash('md5').update(bytes).digest('hex') };
    },
    holdDownloads(name) {
      let release = () => {};
      gates.set(
        name,
        new Promise<void>((resolve) => {
          release = () => {
            gates.delete(name);
            resolve();
          };
        }),
      );
      return release;
    },
    truncatedFirmware(name, bytes, declared) {
      files.set(name, { bytes, declared });
      return `${url}/fw/${name}`;
    },
    sendTcp(deviceId, line, withEcho = true) {
      const peer = fota.livePeers().find((candidate) => candidate.deviceId === deviceId);
      if (!peer) throw new Error(`${deviceId} has no live TCP connection`);
      const echo = withEcho ? (peer.reads.at(-1) ?? Buffer.alloc(0)) : Buffer.alloc(0);
      peer.socket.write(Buffer.concat([echo, Buffer.from(line)]));
    },
    publishMqtt(topic, payload) {
      return new Promise((resolve, reject) =>
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false },
          (error) => (error ? reject(error) : resolve()),
        ),
      );
    },
    reports(deviceId) {
      return requests
        .filter((request) => request.method === 'PUT' && request.path === `/mcs/v2/devices/${deviceId}/firmwares`)
        .map((request) => (JSON.parse(request.body) as { version: string }).version);
    },
    livePeers: () => tcpPeers.filter((peer) => !peer.closed),
    async stop() {
      for (const peer of tcpPeers) peer.socket.destroy();
      http.closeAllConnections();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await Promise.all([
        new Promise((resolve) => tcp.close(resolve)),
        new Promise((resolve) => http.close(resolve)),
        new Promise((resolve) => mqtt.close(resolve)),
      ]);
    },
  };
  return fota;
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls until `condition` holds; fails with `what` after `limitMs` (a guard, not a timing assertion). */
export async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
