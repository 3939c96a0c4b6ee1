import { configure, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhooksPage } from '../src/pages/WebhooksPage';
import { renderConsole, startConsoleServer, type ConsoleServer } from './harness';

configure({ asyncUtilTimeout: 20_000 });

let server: ConsoleServer;
beforeAll(async () => {
  server = await startConsoleServer();
});
afterAll(async () => server.stop());

describe('the Webhooks page', () => {
  it('shows a refusal in words, creates a webhook with its secret shown once, and shows its delivery log', async () => {
    renderConsole(<WebhooksPage />);
    await screen.findByText(/No webhook yet/);

    // The server's default refuses loopback receivers: the refusal is shown in the dialog.
    fireEvent.click(screen.getByRole('button', { name: '+ Create webhook' }));
    let dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText(/^URL/), { target: { value: 'http://127.0.0.1:9/hook' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect((await within(dialog).findByRole('alert')).textContent).toContain(
      '127.0.0.1 is a loopback or private address, and FOTA_WEBHOOK_ALLOW_PRIVATE is false',
    );

    fireEvent.change(within(dialog).getByLabelText(/^URL/), { target: { value: 'https://hooks.invalid/fota' } });
    fireEvent.click(within(dialog).getByLabelText('device.failed'));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    dialog = await screen.findByRole('dialog', { name: 'Webhook created' });
    const secret = (within(dialog).getByLabelText('Webhook secret') as HTMLTextAreaElement).value;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());

    const table = await screen.findByRole('table', { name: 'Webhooks' });
    await within(table).findByText('https://hooks.invalid/fota');
    expect(within(table).getByText('firmware.uploaded, device.failed')).toBeTruthy();
    expect(document.body.textContent).not.toContain(secret);
    const [hook] = (await server.api<Array<{ webhookId: string; events: string[] }>>('GET', '/webhooks')).body;
    expect(hook!.events).toEqual(['firmware.uploaded', 'device.failed']);

    // A test ping is tried once; its failed attempt shows in the log with a Redeliver button.
    fireEvent.click(screen.getByRole('button', { name: 'Send test ping' }));
    const attempts = await screen.findByRole('table', { name: /^Attempts of whd_/ }, { timeout: 30_000 });
    expect(attempts.textContent).toMatch(/no such host|EAI_AGAIN|no answer within/);
    expect(screen.getByText('failed')).toBeTruthy();
    expect(screen.getByRole('button', { name: /^Redeliver whd_/ })).toBeTruthy();

    // Deleted after a confirmation: the list is empty, and so is the server's.
    fireEvent.click(screen.getByRole('button', { name: 'Delete https://hooks.invalid/fota' }));
    dialog = await screen.findByRole('dialog', { name: 'Delete this webhook?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await screen.findByText(/No webhook yet/);
    expect((await server.api<unknown[]>('GET', '/webhooks')).body).toEqual([]);
  }, 90_000);
});
