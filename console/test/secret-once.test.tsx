import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { useState } from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokensPage } from '../src/pages/TokensPage';
import { SecretOnce } from '../src/SecretOnce';
import { renderConsole, startConsoleServer, type ConsoleServer } from './harness';

const secret = 'fota_a-secret-shown-only-once_0123456789abcdefghij';

/** A page that shows the secret until its Done. */
function Shown() {
  const [open, setOpen] = useState(true);
  return open ? (
    <SecretOnce title="Thing created" what="token" label="New token" secret={secret} onDone={() => setOpen(false)}>
      Lose it and make another.
    </SecretOnce>
  ) : (
    <p>The page again</p>
  );
}

describe('SecretOnce', () => {
  it('shows the secret in a labelled read-only monospace field that has the focus, warns, selects it on a refused Copy, and Done closes it', async () => {
    renderConsole(<Shown />);
    const dialog = await screen.findByRole('dialog', { name: 'Thing created' });
    const alert = within(dialog).getByRole('alert');
    expect(alert.textContent).toContain('Copy the token now: it is shown only this once');
    expect(alert.textContent).toContain('Lose it and make another.');
    const field = within(dialog).getByLabelText('New token') as HTMLTextAreaElement;
    expect(field.value).toBe(secret);
    expect(field.readOnly).toBe(true);
    expect(field.style.fontFamily).toBe('var(--mantine-font-family-monospace)');
    // The focus moves to the secret, all of it selected.
    await waitFor(() => expect(document.activeElement).toBe(field));
    expect([field.selectionStart, field.selectionEnd]).toEqual([0, secret.length]);

    // jsdom has no clipboard, as a browser on plain http:// to another host: the secret is selected
    // for Ctrl+C and the user is told so (chromium's clipboard is in test/e2e/console.test.ts).
    field.blur();
    field.setSelectionRange(0, 0);
    expect(document.activeElement).not.toBe(field);
    const status = within(dialog).getByRole('status');
    expect(status.textContent).toBe('');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Copy the token' }));
    await waitFor(() => expect(status.textContent).toContain('the secret is selected, press Ctrl+C'));
    expect(document.activeElement).toBe(field);
    expect([field.selectionStart, field.selectionEnd]).toEqual([0, secret.length]);

    fireEvent.click(within(dialog).getByRole('button', { name: 'Done' }));
    await screen.findByText('The page again');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(document.body.innerHTML).not.toContain(secret);
  });
});

describe('a secret shown once on its page', () => {
  let server: ConsoleServer;
  beforeAll(async () => {
    server = await startConsoleServer();
  });
  afterAll(async () => server.stop());

  it('is gone after Done, and not shown again when the page is opened again', async () => {
    const first = renderConsole(<TokensPage />);
    await screen.findByText(/No API token yet/);
    fireEvent.click(screen.getByRole('button', { name: '+ Create token' }));
    let dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText(/^Name/), { target: { value: 'nightly build' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    dialog = await screen.findByRole('dialog', { name: /Token “nightly build” created/ });
    const token = (within(dialog).getByLabelText('New token') as HTMLTextAreaElement).value;
    expect(token).toMatch(/^fota_[A-Za-z0-9_-]{43}$/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    await within(await screen.findByRole('table', { name: 'API tokens' })).findByText('nightly build');
    expect(document.body.innerHTML).not.toContain(token);
    first.unmount();

    renderConsole(<TokensPage />);
    await within(await screen.findByRole('table', { name: 'API tokens' })).findByText('nightly build');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.body.innerHTML).not.toContain(token);
    // The token itself still works: it is only not shown.
    const used = await fetch(`${server.url}/api/v1/prototypes`, { headers: { authorization: `Bearer ${token}` } });
    expect(used.status).toBe(200);
  });
});
