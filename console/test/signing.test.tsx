import { generateKeyPairSync, sign } from 'node:crypto';
import { screen, waitFor, within } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, xhrUpload } from '../src/api';
import { FirmwareTab, SigningKeyLine } from '../src/pages/PrototypePage';
import { renderConsole, startConsoleServer, type ConsoleServer } from './harness';

let server: ConsoleServer;
beforeAll(async () => {
  server = await startConsoleServer();
});
afterAll(async () => server.stop());

describe('signed firmware in the console', () => {
  it('shows the public key and its id, and which firmware is signed by which key', { timeout: 30_000 }, async () => {
    const pid = (await server.api<{ prototypeId: string }>('POST', '/prototypes', { name: 'signed' })).body.prototypeId;
    const none = renderConsole(<SigningKeyLine pid={pid} />, { role: 'viewer' });
    await screen.findByText(/Signing key: none/);
    none.unmount();

    const owner = generateKeyPairSync('ed25519');
    const spki = owner.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const key = (
      await server.api<{ keyId: string; publicKey: string }>('POST', `/prototypes/${pid}/signing-keys`, {
        publicKey: spki,
      })
    ).body;
    const upload = (version: string) =>
      client.uploadFirmware(
        pid,
        { name: 'fw', version, file: new Blob([`bytes ${version}`]), fileName: 'fw.bin' },
        xhrUpload,
      );
    const signed = await upload('1.0');
    await upload('2.0');
    const { manifest } = (await server.api<{ manifest: string }>('GET', `/firmwares/${signed.fwId}/manifest`)).body;
    const signature = `ed25519 ${key.keyId} ${sign(null, Buffer.from(manifest), owner.privateKey).toString('hex')}`;
    expect((await server.api('POST', `/firmwares/${signed.fwId}/signatures`, { signature })).status).toBe(201);

    const line = renderConsole(<SigningKeyLine pid={pid} />, { role: 'viewer' });
    const shown = await screen.findByLabelText('Signing key');
    await waitFor(() => expect(shown.textContent).toContain(key.keyId));
    expect(shown.textContent).toContain(key.publicKey);
    expect(shown.textContent).toContain('held by its owner');
    line.unmount();

    renderConsole(<FirmwareTab pid={pid} />, { role: 'viewer' });
    const table = await screen.findByRole('table', { name: 'Firmware' });
    await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(3));
    await waitFor(() => expect(within(table).getByText(`Yes, key ${key.keyId}`)).toBeTruthy());
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((row) => within(row).getAllByRole('cell').at(-1)?.textContent)).toEqual([
      `Yes, key ${key.keyId}`,
      'No',
    ]);
  });
});
