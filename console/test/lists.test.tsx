import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, xhrUpload } from '../src/api';
import { FirmwareTab } from '../src/pages/PrototypePage';
import { PrototypesPage } from '../src/pages/PrototypesPage';
import { renderConsole, startConsoleServer, type ConsoleServer } from './harness';

let server: ConsoleServer;
beforeAll(async () => {
  server = await startConsoleServer();
});
afterAll(async () => server.stop());

describe('the prototypes list', () => {
  it('shows the empty state, creates a prototype, and shows the refusal when a delete is refused', async () => {
    renderConsole(<PrototypesPage />);
    await screen.findByText(/No prototype yet/);
    fireEvent.click(screen.getByRole('button', { name: '+ Create prototype' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByRole('textbox', { name: /^Name/ }), { target: { value: 'Thermostat' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    await screen.findByRole('link', { name: 'Thermostat' });

    const [prototype] = (await server.api<{ prototypeId: string }[]>('GET', '/prototypes')).body;
    await server.api('POST', `/prototypes/${prototype!.prototypeId}/devices`, { name: 'in use' });
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    const confirm = await screen.findByRole('dialog');
    fireEvent.click(within(confirm).getByRole('button', { name: 'Delete' }));
    // The API's reason, in words, and a way to delete anyway.
    const alert = await within(confirm).findByRole('alert');
    expect(alert.textContent).toMatch(/HTTP 409/);
    await within(confirm).findByRole('button', { name: 'Delete anyway' });
  });

  it('creates a LinkIt Connect 7681 prototype, whose versions only go up', async () => {
    renderConsole(<PrototypesPage />);
    fireEvent.click(await screen.findByRole('button', { name: '+ Create prototype' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByRole('textbox', { name: /^Name/ }), { target: { value: 'Plug 7681' } });
    fireEvent.click(within(dialog).getByRole('radio', { name: /LinkIt Connect 7681/ }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    await screen.findByRole('link', { name: 'Plug 7681' });
    const prototypes = (
      await server.api<{ name: string; board: string; versionPolicy: string }[]>('GET', '/prototypes')
    ).body;
    expect(prototypes.find((prototype) => prototype.name === 'Plug 7681')).toMatchObject({
      board: 'linkit7681',
      versionPolicy: 'increasing',
    });
  });

  it('shows a viewer no create, edit or delete control', async () => {
    renderConsole(<PrototypesPage />, { role: 'viewer' });
    await screen.findByRole('link', { name: 'Thermostat' });
    expect(screen.queryByRole('button', { name: '+ Create prototype' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Edit' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
  });

  it(
    'lists firmware with #, prerequisite and release date, and hides Push from a viewer',
    { timeout: 30_000 },
    async () => {
      const pid = (await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'fw list' })).body
        .prototypeId;
      for (const version of ['1.0', '2.0']) {
        // The console's own upload path: multipart over (jsdom's) XMLHttpRequest.
        const firmware = await client.uploadFirmware(
          pid,
          { name: `fw ${version}`, version, file: new Blob([`bytes ${version}`]), fileName: `fw-${version}.bin` },
          xhrUpload,
        );
        expect(firmware.version).toBe(version);
      }
      const viewer = renderConsole(<FirmwareTab pid={pid} />, { role: 'viewer' });
      const table = await screen.findByRole('table', { name: 'Firmware' });
      await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(3));
      expect(
        within(table)
          .getAllByRole('columnheader')
          .map((cell) => cell.textContent),
      ).toEqual(['#', 'Name', 'Version', 'Release note', 'Prerequisite', 'Release date', 'Signed']);
      expect(screen.queryByRole('button', { name: /Push/ })).toBeNull();
      expect(screen.queryByRole('button', { name: '+ Add firmware' })).toBeNull();
      viewer.unmount();

      renderConsole(<FirmwareTab pid={pid} />);
      await screen.findByRole('button', { name: 'Push fw 2.0 2.0' });
      expect(screen.getByRole('button', { name: '+ Add firmware' })).toBeTruthy();
    },
  );
});
