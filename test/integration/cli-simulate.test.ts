import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/data-dir.js';
import { startFota, stopAllFota } from '../support/fota-cli.js';
import { freePort, startServer, uploadFirmware, type TestServer } from '../support/server.js';

/**
 * `fota simulate` as a user runs it, against the real server listening on ports that are not the
 * defaults (every test server takes free ports): the simulator must find them, and say why a
 * device cannot connect when it cannot.
 */

// Every `fota` run is a new Node process that compiles TypeScript through tsx: give them time.
describe('fota simulate against a server on other ports', { timeout: 180_000 }, () => {
  let server: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startServer();
    env = { FOTA_URL: server.url, FOTA_TOKEN: server.token };
  });

  afterAll(async () => {
    stopAllFota();
    await server?.stop();
  });

  const newPrototype = async (name: string): Promise<string> => {
    const prototypeId = (await server.api<{ prototypeId: string }>('POST', '/prototypes', { name })).body.prototypeId;
    await uploadFirmware(server, prototypeId, { name: 'lamp', version: '1.0' }, 'firmware 1.0');
    return prototypeId;
  };

  const devicesOf = async (prototypeId: string) =>
    (await server.api<any[]>('GET', `/prototypes/${prototypeId}/devices`)).body;

  it('connects MQTT devices to the broker the server names, without --mqtt-url', async () => {
    const mqttPort = server.app.mqtt()!.port();
    expect(mqttPort).not.toBe(1883);
    const prototypeId = await newPrototype('MQTT on another port');

    const run = startFota(['simulate', '--prototype', prototypeId, '--devices', '2', '--protocol', 'mqtt'], env);
    await eventually(
      () => devicesOf(prototypeId),
      (devices) =>
        devices.length === 2 &&
        devices.every((device) => device.presence.online && device.presence.protocol === 'mqtt'),
      60_000,
    );
    run.process.kill('SIGINT');
    const { code, stdout, stderr } = await run.result;
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`MQTT broker mqtt://127.0.0.1:${mqttPort} (from the server)`);
    expect(stderr).not.toMatch(/mqtt connection/);
    expect(stdout).toMatch(/devices\s+tcp 0, mqtt 2/);
  });

  it('says once why MQTT devices cannot connect, and counts it', async () => {
    const prototypeId = await newPrototype('MQTT unreachable');
    const closed = await freePort();
    const run = startFota(
      [
        'simulate',
        '--prototype',
        prototypeId,
        '--devices',
        '3',
        '--protocol',
        'mqtt',
        '--mqtt-url',
        `mqtt://127.0.0.1:${closed}`,
        '--json',
      ],
      env,
    );
    const refused = `connect ECONNREFUSED 127.0.0.1:${closed}`;
    // Each of the 3 devices fails, waits 0.5 to 1 s and fails again: several failures of one kind.
    await eventually(
      async () => run.stderr(),
      (stderr) => stderr.includes(refused),
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    run.process.kill('SIGINT');
    const { code, stdout, stderr } = await run.result;
    expect(code, stderr).toBe(0);
    const lines = stderr.split('\n').filter((line) => line.includes(refused));
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^mqtt connection refused or lost: ${refused} \\(first: D[A-Za-z0-9]{7}; broker mqtt://127\\.0\\.0\\.1:${closed}, set by --mqtt-url or FOTA_MQTT_URL\\)$`,
        ),
      ),
    ]);
    const summary = JSON.parse(stdout);
    expect(summary.connected).toEqual({ tcp: 0, mqtt: 0 });
    expect(summary.connectionProblems).toEqual([{ protocol: 'mqtt', reason: refused, count: summary.disconnects }]);
    expect(summary.disconnects).toBeGreaterThan(3);
  });

  it('says why TCP devices cannot connect when connections.csv names a closed port', async () => {
    // A second server whose TCP command server is stopped: connections.csv still names its port.
    const other = await startServer();
    try {
      await other.app.tcp()!.close();
      const port = (await other.api<any>('GET', '/server')).body.tcp.port;
      const prototypeId = (await other.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'TCP down' })).body
        .prototypeId;
      await uploadFirmware(other, prototypeId, { name: 'lamp', version: '1.0' }, 'firmware 1.0');
      const run = startFota(
        ['simulate', '--prototype', prototypeId, '--devices', '2', '--protocol', 'tcp', '--duration', '4'],
        { FOTA_URL: other.url, FOTA_TOKEN: other.token },
      );
      const { code, stdout, stderr } = await run.result;
      expect(code, stderr).toBe(0);
      const refused = `connect ECONNREFUSED 127.0.0.1:${port}`;
      expect(stderr.split('\n').filter((line) => line.includes(refused))).toEqual([
        expect.stringMatching(
          /^tcp connection refused or lost: .*\(first: D[A-Za-z0-9]{7}; address from connections\.csv/,
        ),
      ]);
      expect(stdout).toMatch(
        new RegExp(`Connection problems:\\n  PROTOCOL\\s+TIMES\\s+REASON\\n  tcp\\s+\\d+\\s+${refused}\\n`),
      );
    } finally {
      await other.stop();
    }
  });
});
