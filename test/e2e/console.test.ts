import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { testEnvironment } from '../support/server.js';
import { TcpDevice } from '../support/tcp-device.js';

/**
 * The web console in a real browser (Debian's chromium through playwright-core) against `fota serve`
 * as a separate process: the whole MCS flow from sign-in to an upgraded device. The screenshots it
 * takes are the ones in the README.
 */
const CHROMIUM = '/usr/bin/chromium';
const shots = join(import.meta.dirname, '..', '..', 'docs', 'screenshots');

let env: Record<string, string>;
let server: ChildServer | undefined;
let browser: Browser | undefined;
let device: TcpDevice | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the console's browser tests need Debian's chromium at ${CHROMIUM}: apt-get install chromium`);
  }
  env = await testEnvironment();
  server = await startChildServer(env);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
    // launch() gives chromium a fresh temporary profile of its own, removed when it closes.
  });
});

afterAll(async () => {
  device?.close();
  await browser?.close();
  await server?.kill('SIGTERM');
  if (env?.['FOTA_DATA_DIR']) await rm(env['FOTA_DATA_DIR'], { recursive: true, force: true });
});

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server!.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as T;
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function addFirmware(page: Page, name: string, version: string, limitTo?: string): Promise<void> {
  await page.getByRole('button', { name: '+ Add firmware' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('textbox', { name: /^Name/ }).fill(name);
  await dialog.getByLabel('Version').fill(version);
  await dialog.getByLabel('Release note').fill(`${name} ${version} release note`);
  await dialog.locator('input[type=file]').setInputFiles({
    name: `${name}.bin`,
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(`firmware ${version} `.repeat(1000)),
  });
  await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
  await dialog.getByLabel('All firmware').waitFor();
  if (limitTo === undefined) {
    await dialog.getByRole('button', { name: 'Done' }).click();
  } else {
    await dialog.getByLabel('Limited firmware').check();
    await dialog.getByLabel(limitTo).check();
    await shoot(page, 'wizard-compatibility');
    await dialog.getByRole('button', { name: 'Next' }).click();
    await dialog.getByRole('button', { name: 'Not now' }).waitFor();
    await shoot(page, 'wizard-push');
    await dialog.getByRole('button', { name: 'Not now' }).click();
  }
  await dialog.waitFor({ state: 'detached' });
}

describe('the web console in chromium', () => {
  it('signs in, creates a prototype, a device and two firmware, and pushes an upgrade live', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    // Sign in with the admin token (the server has no sessions yet, or it makes one).
    await page.goto(server!.url);
    await page.getByRole('heading', { name: 'Sign in to fota' }).waitFor();
    await shoot(page, 'sign-in');
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in with the admin token' }).click();
    await page.getByRole('alert').filter({ hasText: 'Not signed in' }).waitFor();
    await page.getByLabel('Admin token').fill(env['FOTA_ADMIN_TOKEN']!);
    await page.getByRole('button', { name: 'Sign in with the admin token' }).click();
    await page.getByRole('heading', { name: 'Prototypes' }).waitFor();
    await page.getByText('No prototype yet').waitFor();

    // A prototype.
    await page.getByRole('button', { name: '+ Create prototype' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('Smart lamp');
    await page.getByRole('dialog').getByLabel('Description').fill('LinkIt 7697 lamps');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.getByRole('link', { name: 'Smart lamp' }).waitFor();
    await shoot(page, 'prototypes');
    await page.getByRole('link', { name: 'Smart lamp' }).click();

    // Two firmware through the wizard, the second limited to the first.
    await page.getByRole('tab', { name: 'Firmware' }).waitFor();
    await addFirmware(page, 'lamp-fw', '1.0');
    await addFirmware(page, 'lamp-fw-next', '2.0', 'lamp-fw 1.0');
    const rows = page.getByRole('table', { name: 'Firmware' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    await expect.poll(() => rows.nth(1).innerText()).toContain('lamp-fw 1.0');
    await expect.poll(() => rows.nth(0).innerText()).toContain('All');
    await shoot(page, 'firmware');

    // A device, offline until it connects.
    await page.getByRole('tab', { name: 'Devices' }).click();
    await page.getByLabel('New device name').fill('Lamp 1');
    await page.getByRole('button', { name: '+ Create device' }).click();
    const row = page.locator('tr[data-device]').filter({ hasText: 'Lamp 1' });
    await row.waitFor();
    const deviceId = (await row.getAttribute('data-device'))!;
    await row.getByRole('img', { name: 'offline' }).waitFor();
    const { deviceKey } = await api<{ deviceKey: string }>('GET', `/devices/${deviceId}`);

    // It connects: the dot turns green from the event stream, without a reload.
    device = await TcpDevice.connect(Number(env['FOTA_TCP_PORT']));
    device.send(`${deviceId},${deviceKey},0`);
    await row.getByRole('img', { name: 'online' }).waitFor();
    // The fleet chart follows it: one device, online, not reported yet.
    await page.getByRole('img', { name: 'Devices online and offline: online 1, offline 0, of 1' }).waitFor();
    await page.getByRole('img', { name: 'Devices per firmware version: not reported 1' }).waitFor();
    await shoot(page, 'devices');

    // It reports 1.0; its page shows what it runs.
    const report = await fetch(`${server!.url}/mcs/v2/devices/${deviceId}/firmwares`, {
      method: 'PUT',
      headers: { deviceKey },
      body: JSON.stringify({ version: '1.0' }),
    });
    expect(report.status).toBe(200);
    await row.getByRole('link', { name: 'Lamp 1' }).click();
    await page.getByText('Currently use: lamp-fw, 1.0').waitFor();
    await page.getByText(deviceKey).waitFor();

    // Push 2.0 from the device page; the device downloads it and reports it.
    await page.getByRole('button', { name: 'Push 2.0' }).click();
    await page.getByText('You have pushed the firmware to device successfully.').waitFor();
    const line = await device.waitFor(/,FOTA,2\.0,[0-9a-f]{32},\S+$/, 30_000);
    const url = line.slice(line.lastIndexOf(',') + 1);
    const download = await fetch(url);
    expect(download.status).toBe(200);
    await download.arrayBuffer();
    const upgrade = await fetch(`${server!.url}/mcs/v2/devices/${deviceId}/firmwares`, {
      method: 'PUT',
      headers: { deviceKey },
      body: JSON.stringify({ version: '2.0' }),
    });
    expect(upgrade.status).toBe(200);
    await page.getByRole('table', { name: 'Push history' }).locator('tr[data-status="upgraded"]').waitFor();
    await page.getByText('Currently use: lamp-fw-next, 2.0').waitFor();
    await shoot(page, 'device');

    // The push page: counts per status and the device's row.
    await page.getByRole('link', { name: 'Follow the push' }).click();
    await page.getByTestId('push-status').filter({ hasText: 'finished' }).waitFor();
    await expect.poll(() => page.locator('[data-count="upgraded"]').innerText()).toContain('1');
    await page.getByRole('table', { name: 'Devices of the push' }).locator('tr[data-status="upgraded"]').waitFor();
    await shoot(page, 'push');

    // At phone width the device list still reads.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server!.url}/devices/${deviceId}`);
    await page.getByText('Currently use: lamp-fw-next, 2.0').waitFor();
    await shoot(page, 'device-phone');

    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('reconnects its event stream after a server restart and shows presence live again', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(server!.url);
    await page.getByLabel('Admin token').fill(env['FOTA_ADMIN_TOKEN']!);
    await page.getByRole('button', { name: 'Sign in with the admin token' }).click();
    await page.getByRole('link', { name: 'Smart lamp' }).click();
    await page.getByRole('tab', { name: 'Devices' }).click();
    const row = page.locator('tr[data-device]').filter({ hasText: 'Lamp 1' });
    const deviceId = (await row.getAttribute('data-device'))!;
    const { deviceKey } = await api<{ deviceKey: string }>('GET', `/devices/${deviceId}`);
    await page.getByText('live', { exact: true }).waitFor();

    device?.close();
    await server!.kill('SIGTERM');
    await page.getByText('reconnecting…').waitFor();
    server = await startChildServer(env);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 60_000 });
    await row.getByRole('img', { name: 'offline' }).waitFor();

    device = await TcpDevice.connect(Number(env['FOTA_TCP_PORT']));
    device.send(`${deviceId},${deviceKey},0`);
    await row.getByRole('img', { name: 'online' }).waitFor();
    await context.close();
  });

  it('lets an admin create a viewer user on the Users page and an API token on the tokens page, shown once', async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(server!.url);
    await page.getByLabel('Admin token').fill(env['FOTA_ADMIN_TOKEN']!);
    await page.getByRole('button', { name: 'Sign in with the admin token' }).click();

    await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByRole('button', { name: '+ Create user' }).click();
    let dialog = page.getByRole('dialog');
    await dialog.getByRole('textbox', { name: /^Email/ }).fill('Grace@Example.com');
    await dialog.locator('input[autocomplete="new-password"]').fill('a password for grace');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'detached' });
    const users = page.getByRole('table', { name: 'Users' });
    await users.getByRole('cell', { name: 'grace@example.com', exact: true }).waitFor();
    await users.getByText('viewer', { exact: true }).waitFor();
    await shoot(page, 'users');
    const listed = await api<Array<{ email: string; role: string }>>('GET', '/users');
    expect(listed).toContainEqual(expect.objectContaining({ email: 'grace@example.com', role: 'viewer' }));

    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    await page.getByRole('button', { name: '+ Create token' }).click();
    dialog = page.getByRole('dialog');
    await dialog.getByRole('textbox', { name: /^Name/ }).fill('CI deploy job');
    await dialog.getByRole('combobox', { name: 'Role' }).click();
    await page.getByRole('option', { name: /^developer/ }).click();
    await dialog.getByRole('button', { name: 'Create' }).click();
    const shown = page.getByRole('dialog', { name: /created/ });
    await shown.getByText('shown only this once').waitFor();
    const field = shown.getByLabel('New token');
    const secret = await field.inputValue();
    expect(secret).toMatch(/^fota_[A-Za-z0-9_-]{43}$/);
    // The focus is on the secret, all of it selected: Ctrl+C copies it as it is.
    type Field = { selectionStart: number; selectionEnd: number; ownerDocument: { activeElement: unknown } };
    const focus = () =>
      field.evaluate((node: Field) => [
        node === node.ownerDocument.activeElement,
        node.selectionStart,
        node.selectionEnd,
      ]);
    await expect.poll(focus, { timeout: 10_000 }).toEqual([true, 0, secret.length]);
    await shown.getByRole('button', { name: 'Copy the token' }).click();
    await shown.getByText('Copied', { exact: true }).waitFor();
    await shown.getByRole('status').filter({ hasText: 'Copied to the clipboard.' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    await shown.getByRole('button', { name: 'Done' }).click();
    await shown.waitFor({ state: 'detached' });
    const tokens = page.getByRole('table', { name: 'API tokens' });
    await tokens.getByRole('cell', { name: 'CI deploy job', exact: true }).waitFor();
    expect(await page.getByText(secret).count()).toBe(0);
    await shoot(page, 'tokens');
    // At phone width both pages fit the screen: their tables scroll inside themselves.
    await page.setViewportSize({ width: 390, height: 800 });
    for (const [link, heading] of [
      ['Users', 'Users'],
      ['Tokens', 'API tokens'],
    ] as const) {
      await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: heading }).waitFor();
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    }
    // The token works with its role: a developer may create a prototype.
    const used = await fetch(`${server!.url}/api/v1/prototypes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Made by the CI token' }),
    });
    expect(used.status).toBe(201);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('returns to sign-in, with the reason, once the session ends on the server (the user is deleted)', async () => {
    const users = await api<Array<{ userId: string; email: string }>>('GET', '/users');
    const grace = users.find((user) => user.email === 'grace@example.com')!;
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(server!.url);
    await page.getByRole('textbox', { name: 'Email' }).fill('grace@example.com');
    await page.locator('input[autocomplete="current-password"]').fill('a password for grace');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Prototypes' }).waitFor();
    await page.getByText('live', { exact: true }).waitFor();

    const deleted = await fetch(`${server!.url}/api/v1/users/${grace.userId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}` },
    });
    expect(deleted.status).toBe(204);
    // The event stream checks its session every 5 s, ends, and is refused when it opens again.
    await page.getByRole('alert').filter({ hasText: 'Your session ended: sign in again' }).waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'Sign in to fota' }).waitFor();
    await context.close();
  });

  it('signs a viewer in with email and password, offers no push or key rotation, and the API refuses one; a wrong password is refused, then throttled', async () => {
    const email = 'viewer@example.com';
    const password = 'a viewer password';
    const created = await fetch(`${server!.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, role: 'viewer' }),
    });
    expect(created.status).toBe(201);
    const prototype = await api<{ prototypeId: string }>('POST', '/prototypes', { name: 'Viewed lamp' });
    const first = await api<{ deviceId: string }>('POST', `/prototypes/${prototype.prototypeId}/devices`, {
      name: 'Viewed 1',
    });
    const form = new FormData();
    form.set('name', 'viewed-fw');
    form.set('version', '1.0');
    form.set('file', new Blob(['viewed firmware']), 'viewed.bin');
    const uploaded = await fetch(`${server!.url}/api/v1/prototypes/${prototype.prototypeId}/firmwares`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env['FOTA_ADMIN_TOKEN']}` },
      body: form,
    });
    expect(uploaded.status).toBe(201);

    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(server!.url);
    await page.getByRole('heading', { name: 'Sign in to fota' }).waitFor();
    await page.getByRole('textbox', { name: 'Email' }).fill(email);
    await page.locator('input[autocomplete="current-password"]').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong email or password' }).waitFor();

    await page.locator('input[autocomplete="current-password"]').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Prototypes' }).waitFor();
    await page.goto(`${server!.url}/devices/${first.deviceId}`);
    await page.getByText('Currently use:').waitFor();
    // The firmware list is there, without its Push buttons.
    await page.getByText('viewed-fw').first().waitFor();
    expect(await page.getByRole('button', { name: /^Push / }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Rotate key' }).count()).toBe(0);

    // The browser's own session may not push either: the service layer refuses a viewer.
    const refused = await page.evaluate(
      async ([deviceId, pid]) => {
        const session = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
        const list = (await (await fetch(`/api/v1/prototypes/${pid}/firmwares`)).json()) as Array<{ fwId: string }>;
        const answer = await fetch(`/api/v1/firmwares/${list[0]!.fwId}/push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
          body: JSON.stringify({ deviceIds: [deviceId] }),
        });
        return answer.status;
      },
      [first.deviceId, prototype.prototypeId] as const,
    );
    expect(refused).toBe(403);
    await context.close();

    // Wrong passwords for one account are throttled: 429 with Retry-After past the burst.
    let status = 0;
    let retryAfter: string | null = null;
    for (let attempt = 0; attempt < 30 && status !== 429; attempt++) {
      const answer = await fetch(`${server!.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: `wrong ${attempt}` }),
      });
      status = answer.status;
      retryAfter = answer.headers.get('retry-after');
    }
    expect(status).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});
