import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceBody } from '../../src/contract/schemas.js';
import { client, xhrUpload } from '../src/api';
import { DevicePage } from '../src/pages/DevicePage';
import { renderConsole, startConsoleServer, type ConsoleServer } from './harness';

let server: ConsoleServer;
let device: DeviceBody;
beforeAll(async () => {
  server = await startConsoleServer();
  const pid = (await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'device page' })).body
    .prototypeId;
  device = (await server.api<DeviceBody>('POST', `/prototypes/${pid}/devices`, { name: 'Lamp' })).body;
  await client.uploadFirmware(
    pid,
    { name: 'lamp', version: '1.0', file: new Blob(['1.0']), fileName: 'a.bin' },
    xhrUpload,
  );
});
afterAll(async () => server.stop());

describe('the device page', () => {
  it('shows ids with Copy, "All, N/A" before a report, Push disabled offline, and rotates the key after a warning', async () => {
    renderConsole(<DevicePage deviceId={device.deviceId} />);
    await screen.findByText('All, N/A');
    expect(screen.getByText(device.deviceId)).toBeTruthy();
    expect(screen.getByText(device.deviceKey!)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy deviceId' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy deviceKey' })).toBeTruthy();
    const push = await screen.findByRole('button', { name: 'Push 1.0' });
    expect(push.hasAttribute('disabled')).toBe(true);
    await screen.findByText('Nothing was pushed to this device yet.');

    fireEvent.click(screen.getByRole('button', { name: 'Rotate key' }));
    const dialog = await screen.findByRole('dialog');
    within(dialog).getByText(/disconnected at once/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Rotate key' }));
    await waitFor(() => expect(screen.queryByText(device.deviceKey!)).toBeNull());
    const rotated = (await server.api<DeviceBody>('GET', `/devices/${device.deviceId}`)).body;
    expect(rotated.deviceKey).not.toBe(device.deviceKey);
    // An administrator sees the key: the API answers it to every role but viewers.
    await screen.findByText(rotated.deviceKey!);
  });

  it('shows a viewer neither the key rotation nor Push', async () => {
    renderConsole(<DevicePage deviceId={device.deviceId} />, { role: 'viewer' });
    await screen.findByText('All, N/A');
    await screen.findByRole('table', { name: 'Firmware' });
    expect(screen.queryByRole('button', { name: 'Rotate key' })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Push/ })).toBeNull();
  });

  it('names an unknown device in words', async () => {
    renderConsole(<DevicePage deviceId="Dnothing" />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/could not be read/);
    expect(alert.textContent).toMatch(/HTTP 404/);
  });
});
