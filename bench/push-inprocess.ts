/**
 * `tsx bench/push-inprocess.ts [devices]`: one push to N devices connected in process (connections
 * that only count commands), timing the push answer and the longest event-loop block until every
 * command went out. A quick check of the push path's own cost, without sockets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';

const count = Number(process.argv[2] ?? 10_000);
const dir = await mkdtemp(join(tmpdir(), 'fota-push-inprocess-'));
const config = loadConfig({ FOTA_DATA_DIR: dir, FOTA_ADMIN_TOKEN: 'bench-token-0123456789', FOTA_LOG_LEVEL: 'silent' });
const app = await createApp(config, pino({ level: 'silent' }));
try {
  const admin = { kind: 'admin' } as const;
  const { services } = app;
  const prototype = await services.prototypes.create(admin, { name: 'bench' });
  const { Readable } = await import('node:stream');
  const firmware = await services.firmwares.upload(
    admin,
    prototype.id,
    { name: 'fw', version: '2' },
    Readable.from([Buffer.from('x')]),
  );
  let sent = 0;
  let lastAt = 0;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const device = await services.devices.create(admin, prototype.id, { name: `d${i}` });
    ids.push(device.id);
    services.connections.attach(
      { kind: 'device', deviceId: device.id, prototypeId: prototype.id },
      {
        deviceId: device.id,
        protocol: i % 2 === 0 ? 'tcp' : 'mqtt',
        send: async () => {
          sent++;
          lastAt = performance.now();
        },
        close: () => {},
      },
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  const push = await services.pushes.create(admin, firmware.id, { deviceIds: ids, force: true });
  const answered = performance.now() - start;
  while (sent < count) await new Promise((resolve) => setTimeout(resolve, 5));
  delay.disable();
  console.log(
    `${count} devices: answer ${answered.toFixed(0)} ms (counts ${JSON.stringify(push.counts)}), all sent after ${(lastAt - start).toFixed(0)} ms, longest event-loop block ${(delay.max / 1e6).toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms`,
  );
} finally {
  await app.stop();
  await rm(dir, { recursive: true, force: true });
}
