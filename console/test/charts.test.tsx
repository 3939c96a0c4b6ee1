import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceBody, PushBody } from '../../src/contract/schemas.js';
import { TcpDevice } from '../../test/support/tcp-device.js';
import { client, xhrUpload } from '../src/api';
import { DevicesTab } from '../src/pages/PrototypePage';
import { PrototypesPage } from '../src/pages/PrototypesPage';
import { PushPage } from '../src/pages/PushPage';
import { pushStatuses } from '../src/status';
import { renderConsole, startConsoleServer, type ConsoleServer } from './harness';

let server: ConsoleServer;
let pid = '';
let fwId = '';
const devices: DeviceBody[] = [];
const sockets: TcpDevice[] = [];

beforeAll(async () => {
  server = await startConsoleServer();
  pid = (await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'fleet' })).body.prototypeId;
  for (const version of ['1.0', '2.0']) {
    const firmware = await client.uploadFirmware(
      pid,
      { name: 'fleet-fw', version, file: new Blob([`fleet ${version}`]), fileName: `fleet-${version}.bin` },
      xhrUpload,
    );
    fwId = firmware.fwId;
  }
  for (const name of ['a', 'b', 'c']) {
    devices.push((await server.api<DeviceBody>('POST', `/prototypes/${pid}/devices`, { name })).body);
  }
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.stop();
});

/** What the device reports over the MCS device API: the firmware it runs. */
async function report(device: DeviceBody, version: string): Promise<void> {
  const answer = await fetch(`${server.url}/mcs/v2/devices/${device.deviceId}/firmwares`, {
    method: 'PUT',
    headers: { deviceKey: device.deviceKey! },
    body: JSON.stringify({ version }),
  });
  expect(answer.status).toBe(200);
}

/** The fleet chart's bars as `{version: count}`, read from the SVG the page draws. */
function bars(): Record<string, number> {
  const chart = screen.getByRole('img', { name: /^Devices per firmware version/ });
  return Object.fromEntries(
    [...chart.querySelectorAll('[data-bar]')].map((bar) => [
      bar.getAttribute('data-bar'),
      Number(bar.getAttribute('data-value')),
    ]),
  );
}

describe('the fleet chart', () => {
  it('counts devices per version and online ones, and moves live when a device connects or reports a version', async () => {
    renderConsole(<DevicesTab pid={pid} />, { live: true });
    await screen.findByRole('table', { name: 'Devices' });
    // Nothing reported yet: one "not reported" bar of 3; nobody online.
    expect(bars()).toEqual({ 'not reported': 3 });
    expect(screen.getByRole('img', { name: /^Devices per firmware version/ }).textContent).toContain('not reported');
    expect(screen.getByRole('img', { name: 'Devices online and offline: online 0, offline 3, of 3' })).toBeTruthy();
    expect(screen.getByTestId('fleet-online').textContent).toBe('0 of 3 online');
    await waitFor(() => expect(screen.getByTestId('stream').dataset['state']).toBe('live'));

    // Device a connects: the presence bar and its figures move from the event stream.
    const socket = await TcpDevice.connect(server.tcpPort);
    sockets.push(socket);
    socket.send(`${devices[0]!.deviceId},${devices[0]!.deviceKey},0`);
    await screen.findByRole(
      'img',
      { name: 'Devices online and offline: online 1, offline 2, of 3' },
      { timeout: 10_000 },
    );
    const legend = screen.getByRole('list', { name: 'Devices online and offline, legend' });
    expect(
      within(legend)
        .getAllByRole('listitem')
        .map((item) => item.textContent),
    ).toEqual(['online1', 'offline2']);

    // a reports 1.0 and b 2.0: their bars appear, in the prototype's order, "not reported" last.
    await report(devices[0]!, '1.0');
    await waitFor(() => expect(bars()).toEqual({ '1.0': 1, 'not reported': 2 }), { timeout: 10_000 });
    await report(devices[1]!, '2.0');
    await waitFor(() => expect(bars()).toEqual({ '1.0': 1, '2.0': 1, 'not reported': 1 }), { timeout: 10_000 });
    expect(Object.keys(bars())).toEqual(['1.0', '2.0', 'not reported']);
    expect(screen.getByRole('img', { name: /^Devices per firmware version/ }).querySelector('title')?.textContent).toBe(
      'Devices per firmware version: 1.0 1, 2.0 1, not reported 1',
    );
  });
});

describe('the push chart', () => {
  it("shows the summary's count of every status, in figures and in its bar, and follows push.progress", async () => {
    // a is online (the fleet test's socket): it is sent 2.0; b and c are offline.
    const push = (
      await server.api<PushBody>('POST', `/firmwares/${fwId}/push`, { deviceIds: devices.map((d) => d.deviceId) })
    ).body;
    renderConsole(<PushPage pushId={push.pushId} />, { live: true });
    await waitFor(() => expect(screen.getByTestId('stream').dataset['state']).toBe('live'));
    const figures = (): Record<string, number> => {
      const legend = screen.getByRole('list', { name: 'Devices per status, legend' });
      return Object.fromEntries(
        within(legend)
          .getAllByRole('listitem')
          .map((item) => [item.getAttribute('data-count'), Number(item.lastElementChild?.textContent)]),
      );
    };
    const summary = async () => (await server.api<PushBody>('GET', `/pushes/${push.pushId}`)).body;
    // The legend names every status of the contract, in its order, with the summary's figure.
    await screen.findByRole('list', { name: 'Devices per status, legend' });
    expect(Object.keys(figures())).toEqual([...pushStatuses]);
    await waitFor(async () => expect(figures()).toEqual((await summary()).counts), { timeout: 10_000 });
    const counts = (await summary()).counts;
    expect(Object.values(figures()).reduce((sum, count) => sum + count, 0)).toBe(3);
    const bar = screen.getByRole('img', { name: /^Devices per status:/ });
    expect(bar.getAttribute('aria-label')).toBe(
      `Devices per status: ${pushStatuses.map((name) => `${name} ${counts[name]}`).join(', ')}, of 3`,
    );
    expect(bar.querySelectorAll('rect')).toHaveLength(
      Object.values((await summary()).counts).filter((count) => count > 0).length,
    );

    // a runs 2.0 now: its target moves to upgraded, and the chart follows from push.progress.
    await report(devices[0]!, '2.0');
    await waitFor(() => expect(figures()['upgraded']).toBe(1), { timeout: 10_000 });
    expect(figures()).toEqual((await summary()).counts);
    expect(bar.querySelector('[data-segment="upgraded"]')).toBeTruthy();
  });
});

describe('QueryState', () => {
  it('shows an API error in words with its HTTP status, and Retry reads again', async () => {
    const credentials = client.credentials;
    client.credentials = { kind: 'bearer', token: 'not-the-token' };
    try {
      renderConsole(<PrototypesPage />);
      const alert = await screen.findByRole('alert');
      expect(alert.textContent).toMatch(/The prototypes could not be read/);
      expect(alert.textContent).toMatch(/HTTP 401/);
      expect(screen.queryByRole('table')).toBeNull();
      client.credentials = credentials;
      fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
      await screen.findByRole('link', { name: 'fleet' });
      expect(screen.queryByRole('alert')).toBeNull();
    } finally {
      client.credentials = credentials;
    }
  });
});
