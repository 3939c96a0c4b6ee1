import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../support/server.js';

/** A throwaway S3-compatible engine: Debian's OpenStack Swift with its s3api middleware. */
export interface S3Server {
  /** http://127.0.0.1:PORT of the Swift proxy, which answers the S3 API. */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The Swift processes (object, container, account servers and the proxy), for CPU figures. */
  readonly pids: readonly number[];
  /**
   * Creates a bucket, retrying while the servers are still starting (Swift answers 503 "Please
   * reduce your request rate" until its container server answers, slower on a loaded machine).
   */
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

const SWIFT_CONF = '/etc/swift/swift.conf';
const BINARIES = [
  ['swift-ring-builder', 'swift'],
  ['swift-object-server', 'swift-object'],
  ['swift-container-server', 'swift-container'],
  ['swift-account-server', 'swift-account'],
  ['swift-proxy-server', 'swift-proxy'],
  ['setpriv', 'util-linux'],
] as const;

/**
 * Starts a one-replica Swift (object, container and account servers and the proxy with s3api and
 * tempauth) on free loopback ports with its rings and data in a temporary folder, as
 * `/work/shared/reference/s3-test-server.md` describes, and waits until it answers. Each server runs
 * under `setpriv --pdeathsig KILL`, so it dies with this process even when a run is cut short.
 */
export async function startS3Server(): Promise<S3Server> {
  for (const [binary, pkg] of BINARIES) {
    if (!onPath(binary)) {
      throw new Error(`${binary} is not installed: apt-get install ${pkg} (the S3 engine tests run OpenStack Swift)`);
    }
  }
  await ensureSwiftConf();
  const root = await mkdtemp(join(tmpdir(), 'fota-swift-'));
  const etc = join(root, 'etc');
  const devices = join(root, 'srv');
  await mkdir(join(devices, 'd1'), { recursive: true });
  await mkdir(etc, { recursive: true });
  // Swift drops its privileges to this user; staying the same user keeps the parent-death signal.
  const user = userInfo().username;
  const ports = { object: await freePort(), container: await freePort(), account: await freePort() };
  const proxyPort = await freePort();

  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopChild));
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (const [kind, port] of Object.entries(ports)) {
      const builder = join(etc, `${kind}.builder`);
      execFileSync('swift-ring-builder', [builder, 'create', '10', '1', '1'], { stdio: 'pipe' });
      execFileSync('swift-ring-builder', [builder, 'add', `r1z1-127.0.0.1:${port}/d1`, '100'], { stdio: 'pipe' });
      execFileSync('swift-ring-builder', [builder, 'rebalance'], { stdio: 'pipe' });
      await writeFile(
        join(etc, `${kind}-server.conf`),
        [
          '[DEFAULT]',
          `swift_dir = ${etc}`,
          `devices = ${devices}`,
          'mount_check = false',
          'disable_fallocate = true',
          'bind_ip = 127.0.0.1',
          `bind_port = ${port}`,
          'workers = 0',
          `user = ${user}`,
          'log_level = WARNING',
          '[pipeline:main]',
          `pipeline = ${kind}-server`,
          `[app:${kind}-server]`,
          `use = egg:swift#${kind}`,
          `[${kind}-replicator]`,
          `[${kind}-auditor]`,
          `[${kind}-updater]`,
          '',
        ].join('\n'),
      );
    }
    await writeFile(join(etc, 'proxy-server.conf'), proxyConf(etc, proxyPort, user));
    for (const kind of Object.keys(ports))
      children.push(startChild(root, `swift-${kind}-server`, `${kind}-server.conf`));
    children.push(startChild(root, 'swift-proxy-server', 'proxy-server.conf'));
    const endpoint = `http://127.0.0.1:${proxyPort}`;
    await waitUntilAnswering(endpoint, children, root);
    const pids = children.map((child) => child.pid!);
    const createBucket = (name: string) => createBucketWhenReady(endpoint, name);
    return {
      endpoint,
      region: 'us-east-1',
      accessKeyId: 'test:tester',
      secretAccessKey: 'testing',
      pids,
      createBucket,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function onPath(binary: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((folder) => folder !== '' && existsSync(join(folder, binary)));
}

/**
 * Swift reads its hash settings and storage policies from this one path. Debian's package installs
 * one (any prefix and suffix do for a throwaway cluster); CI runs as root and writes it when absent.
 */
async function ensureSwiftConf(): Promise<void> {
  const current = await readFile(SWIFT_CONF, 'utf8').catch(() => undefined);
  if (current !== undefined && /^\s*swift_hash_path_(suffix|prefix)\s*=\s*\S/m.test(current)) return;
  try {
    await mkdir('/etc/swift', { recursive: true });
    await writeFile(
      SWIFT_CONF,
      [
        '[swift-hash]',
        'swift_hash_path_suffix = fota-test',
        'swift_hash_path_prefix = fota-test',
        '[storage-policy:0]',
        'name = gold',
        'default = yes',
        '',
      ].join('\n'),
    );
  } catch (error) {
    throw new Error(`Swift needs ${SWIFT_CONF} and it could not be written (run the engine tests as root): ${error}`, {
      cause: error,
    });
  }
}

function proxyConf(etc: string, port: number, user: string): string {
  return [
    '[DEFAULT]',
    `swift_dir = ${etc}`,
    'bind_ip = 127.0.0.1',
    `bind_port = ${port}`,
    'workers = 0',
    `user = ${user}`,
    'log_level = WARNING',
    '[pipeline:main]',
    'pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth copy dlo slo proxy-logging proxy-server',
    '[app:proxy-server]',
    'use = egg:swift#proxy',
    'account_autocreate = true',
    '[filter:catch_errors]',
    'use = egg:swift#catch_errors',
    '[filter:gatekeeper]',
    'use = egg:swift#gatekeeper',
    '[filter:proxy-logging]',
    'use = egg:swift#proxy_logging',
    // No memcached: the cache points at a port nothing listens on, and Swift works without it.
    '[filter:cache]',
    'use = egg:swift#memcache',
    'memcache_servers = 127.0.0.1:1',
    '[filter:listing_formats]',
    'use = egg:swift#listing_formats',
    '[filter:s3api]',
    'use = egg:swift#s3api',
    'location = us-east-1',
    '[filter:tempauth]',
    'use = egg:swift#tempauth',
    'user_admin_admin = admin .admin .reseller_admin',
    'user_test_tester = testing .admin',
    '[filter:copy]',
    'use = egg:swift#copy',
    '[filter:dlo]',
    'use = egg:swift#dlo',
    '[filter:slo]',
    'use = egg:swift#slo',
    '',
  ].join('\n');
}

function startChild(root: string, binary: string, conf: string): ChildProcess {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', binary, join(root, 'etc', conf)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  Object.defineProperty(child, 'fotaOutput', { get: () => `${binary}: ${output}` });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function waitUntilAnswering(endpoint: string, children: ChildProcess[], root: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  const outputs = () => children.map((child) => (child as ChildProcess & { fotaOutput: string }).fotaOutput).join('\n');
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test:tester', secretAccessKey: 'testing' },
    maxAttempts: 1,
  });
  try {
    for (;;) {
      const dead = children.find((child) => child.exitCode !== null || child.signalCode !== null);
      if (dead) throw new Error(`a Swift server (in ${root}) exited at start:\n${outputs()}`);
      // A listing of the buckets goes through the proxy, tempauth and the account server.
      const listed = await client.send(new ListBucketsCommand({})).then(
        () => true,
        () => false,
      );
      if (listed) return;
      if (Date.now() > deadline) throw new Error(`Swift did not answer within 60 s:\n${outputs()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    client.destroy();
  }
}

async function createBucketWhenReady(endpoint: string, name: string): Promise<void> {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test:tester', secretAccessKey: 'testing' },
  });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
        return;
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if ((status !== undefined && status < 500) || Date.now() > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    client.destroy();
  }
}
