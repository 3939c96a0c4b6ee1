import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { eventually } from '../support/data-dir.js';
import { runFota, stopAllFota } from '../support/fota-cli.js';
import { freePort, testEnvironment } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';
import { createDatabase, dropDatabase } from '../services/postgres.js';

let server: ChildServer | undefined;
const cleanups: Array<() => Promise<void>> = [];

afterAll(async () => {
  await server?.kill('SIGKILL');
  stopAllFota();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('fota serve on PostgreSQL (FOTA_DATABASE_URL)', () => {
  it('creates, uploads, pushes to a device until upgraded, and keeps it all across a restart', async () => {
    const databaseUrl = await createDatabase(inject('postgresUrl'));
    cleanups.push(() => dropDatabase(databaseUrl));
    const env = await testEnvironment({ FOTA_DATABASE_URL: databaseUrl, FOTA_DATABASE_POOL_SIZE: '4' });
    cleanups.push(() => rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true }));
    server = await startChildServer(env);
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server!.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    };

    const prototypeId = (await api('POST', '/prototypes', { name: 'on postgres' })).body.prototypeId;
    const device = (await api('POST', `/prototypes/${prototypeId}/devices`, { name: 'board 1' })).body;
    const form = new FormData();
    form.append('name', 'two');
    form.append('version', '2');
    form.append('file', new Blob(['firmware two']), 'fw.bin');
    const upload = await fetch(`${server.url}/api/v1/prototypes/${prototypeId}/firmwares`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}` },
      body: form,
    });
    expect(upload.status).toBe(201);
    const firmware = (await upload.json()) as any;
    const report = (version: string) =>
      fetch(`${server!.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
        method: 'PUT',
        headers: { deviceKey: device.deviceKey },
        body: JSON.stringify({ version }),
      });

    const socket = await TcpDevice.connect(Number(env['FOTA_TCP_PORT']));
    cleanups.push(async () => socket.close());
    socket.send(`${device.deviceId},${device.deviceKey},0`);
    await eventually(
      () => api('GET', `/devices/${device.deviceId}`),
      (answer) => answer.body.presence.online === true,
    );
    const push = await api('POST', `/firmwares/${firmware.fwId}/push`, { deviceIds: [device.deviceId] });
    expect(push.status).toBe(201);
    const line = await socket.waitFor(/,FOTA,2,[0-9a-f]{32},\S+/);
    const url = line.match(/,FOTA,2,[0-9a-f]{32},(\S+)/)![1]!;
    expect(await (await fetch(url)).text()).toBe('firmware two');
    expect((await report('2')).status).toBe(200);
    const target = async () => (await api('GET', `/pushes/${push.body.pushId}/targets`)).body.targets[0];
    const done = await eventually(target, (found) => found.status === 'upgraded');
    expect(done.history.map((step: any) => step.status)).toEqual(['queued', 'sent', 'downloading', 'upgraded']);
    // Nothing went to a SQLite file: the data folder only keeps the firmware files.
    expect(existsSync(join(env['FOTA_DATA_DIR']!, 'fota.sqlite'))).toBe(false);

    socket.close();
    await server.kill('SIGTERM');
    server = await startChildServer(env);
    expect((await api('GET', `/prototypes/${prototypeId}`)).body.name).toBe('on postgres');
    expect((await api('GET', `/devices/${device.deviceId}`)).body).toMatchObject({
      firmware: { fwId: firmware.fwId, version: '2' },
    });
    expect(await target()).toMatchObject({ status: 'upgraded' });
    expect((await api('GET', `/pushes/${push.body.pushId}`)).body).toMatchObject({
      status: 'finished',
      counts: { upgraded: 1 },
    });
    expect(await (await fetch(`${server.url}/fw/${firmware.fwId}`)).text()).toBe('firmware two');
    await server.kill('SIGTERM');
    server = undefined;
  });

  it('refuses to start on a server that is not there: one line naming FOTA_DATABASE_URL, no password, no stack', async () => {
    const env = await testEnvironment({
      FOTA_DATABASE_URL: `postgres://fota:s3cret-pw@127.0.0.1:${await freePort()}/fota`,
      FOTA_DATABASE_CONNECT_TIMEOUT_S: '5',
    });
    cleanups.push(() => rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true }));
    const run = await runFota(['serve'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^fota: cannot use the PostgreSQL database at postgres:\/\/fota:\*\*\*@127\.0\.0\.1:\d+\/fota \(FOTA_DATABASE_URL\): .*ECONNREFUSED.*\n$/,
    );
    expect(run.stdout + run.stderr).not.toContain('s3cret-pw');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a URL that is not PostgreSQL as a configuration error, without the password', async () => {
    const env = await testEnvironment({ FOTA_DATABASE_URL: 'mysql://fota:s3cret-pw@127.0.0.1/fota' });
    cleanups.push(() => rm(env['FOTA_DATA_DIR']!, { recursive: true, force: true }));
    const run = await runFota(['serve'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('FOTA_DATABASE_URL must be a URL of the form postgres://');
    expect(run.stderr).toContain('mysql://fota:***@127.0.0.1/fota');
    expect(run.stdout + run.stderr).not.toContain('s3cret-pw');
  });
});
