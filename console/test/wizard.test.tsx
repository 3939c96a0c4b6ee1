import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceBody, FirmwareBody } from '../../src/contract/schemas.js';
import { TcpDevice } from '../../test/support/tcp-device.js';
import { FirmwareWizard } from '../src/pages/FirmwareWizard';
import { DevicesTab } from '../src/pages/PrototypePage';
import { renderConsole, startConsoleServer, type ConsoleServer } from './harness';

let server: ConsoleServer;
let pid = '';
const sockets: TcpDevice[] = [];
beforeAll(async () => {
  server = await startConsoleServer();
  pid = (await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'wizard' })).body.prototypeId;
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.stop();
});

async function upload(dialog: HTMLElement, name: string, version: string): Promise<void> {
  fireEvent.change(within(dialog).getByRole('textbox', { name: /^Name/ }), { target: { value: name } });
  fireEvent.change(within(dialog).getByRole('textbox', { name: /^Version/ }), { target: { value: version } });
  const file = new File([`firmware ${version}`], `${name}.bin`, { type: 'application/octet-stream' });
  fireEvent.change(dialog.querySelector('input[type=file]')!, { target: { files: [file] } });
  fireEvent.click(within(dialog).getByRole('button', { name: 'Upload' }));
  await within(dialog).findByLabelText('All firmware');
}

async function connect(device: DeviceBody): Promise<void> {
  const socket = await TcpDevice.connect(server.tcpPort);
  sockets.push(socket);
  socket.send(`${device.deviceId},${device.deviceKey},0`);
}

describe('the "+ Add firmware" wizard', () => {
  it('uploads, limits compatibility to the checked firmware, and pushes only to selectable devices', async () => {
    let closed = 0;
    const first = renderConsole(<FirmwareWizard pid={pid} onClose={() => closed++} />);
    await upload(await screen.findByRole('dialog'), 'base', '1.0');
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(closed).toBe(1));
    first.unmount();

    const online = (await server.api<DeviceBody>('POST', `/prototypes/${pid}/devices`, { name: 'on' })).body;
    const offline = (await server.api<DeviceBody>('POST', `/prototypes/${pid}/devices`, { name: 'off' })).body;
    await connect(online);
    await waitFor(async () =>
      expect((await server.api<DeviceBody>('GET', `/devices/${online.deviceId}`)).body.presence.online).toBe(true),
    );

    renderConsole(<FirmwareWizard pid={pid} onClose={() => closed++} />);
    const dialog = await screen.findByRole('dialog');
    await upload(dialog, 'next', '2.0');
    // Limit needs at least one firmware checked.
    fireEvent.click(within(dialog).getByLabelText('Limited firmware'));
    const next = within(dialog).getByRole('button', { name: 'Next' });
    expect(next.hasAttribute('disabled')).toBe(true);
    fireEvent.click(await within(dialog).findByLabelText('base 1.0'));
    fireEvent.click(next);

    // Step 3: the offline device is shown but not selectable until "deliver when online".
    const onBox = await within(dialog).findByLabelText(new RegExp(`on \\(${online.deviceId}\\)`));
    const offBox = within(dialog).getByLabelText(new RegExp(`off \\(${offline.deviceId}\\)`));
    expect(offBox.hasAttribute('disabled')).toBe(true);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Select all' }));
    expect((onBox as HTMLInputElement).checked).toBe(true);
    expect((offBox as HTMLInputElement).checked).toBe(false);
    fireEvent.click(within(dialog).getByLabelText(/Deliver when online/));
    expect(offBox.hasAttribute('disabled')).toBe(false);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Clear' }));
    expect((onBox as HTMLInputElement).checked).toBe(false);
    fireEvent.click(onBox);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Push' }));
    await waitFor(() => expect(closed).toBe(2));

    const firmwares = (await server.api<FirmwareBody[]>('GET', `/prototypes/${pid}/firmwares`)).body;
    const base = firmwares.find((firmware) => firmware.version === '1.0')!;
    const pushed = firmwares.find((firmware) => firmware.version === '2.0')!;
    expect(pushed.prerequisites).toEqual([base.fwId]);
    const pushes = (await server.api<{ total: number; pushId: string }[]>('GET', `/firmwares/${pushed.fwId}/pushes`))
      .body;
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.total).toBe(1);
    expect(window.location.pathname).toBe(`/pushes/${pushes[0]!.pushId}`);
  });

  it('shows the API refusal in words (a version already in the prototype)', async () => {
    renderConsole(<FirmwareWizard pid={pid} onClose={() => undefined} />);
    const dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByRole('textbox', { name: /^Name/ }), { target: { value: 'again' } });
    fireEvent.change(within(dialog).getByRole('textbox', { name: /^Version/ }), { target: { value: '1.0' } });
    const file = new File(['again'], 'again.bin');
    fireEvent.change(dialog.querySelector('input[type=file]')!, { target: { files: [file] } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Upload' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).toMatch(/not uploaded/);
    expect(alert.textContent).toMatch(/HTTP 409/);
  });
});

describe('the live dot', () => {
  it('turns green when a device connects and grey when it goes, from the event stream, without a reload', async () => {
    const device = (await server.api<DeviceBody>('POST', `/prototypes/${pid}/devices`, { name: 'dot' })).body;
    renderConsole(<DevicesTab pid={pid} />, { live: true });
    const row = await waitFor(() => {
      const found = document.querySelector(`tr[data-device="${device.deviceId}"]`);
      if (!(found instanceof HTMLElement)) throw new Error('no row yet');
      return found;
    });
    await within(row).findByRole('img', { name: 'offline' });
    // The stream is open before the device connects, so its event cannot be missed.
    await waitFor(() => expect(screen.getByTestId('stream').dataset['state']).toBe('live'));
    const socket = await TcpDevice.connect(server.tcpPort);
    sockets.push(socket);
    socket.send(`${device.deviceId},${device.deviceKey},0`);
    await within(row).findByRole('img', { name: 'online' }, { timeout: 10_000 });
    // The fleet summary counts it live too (the wizard's "on" device is still connected).
    await waitFor(() => expect(screen.getByTestId('fleet-online').textContent).toBe('2 of 3 online'));
    socket.close();
    await within(row).findByRole('img', { name: 'offline' }, { timeout: 10_000 });
  });
});
