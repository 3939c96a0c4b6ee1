import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/contract/http-client.js';
import { client } from '../src/api';
import { AccountLinks } from '../src/AccountLinks';
import { TokensPage } from '../src/pages/TokensPage';
import { UsersPage } from '../src/pages/UsersPage';
import { renderConsole, startConsoleServer, type ConsoleServer } from './harness';

let server: ConsoleServer;
beforeAll(async () => {
  server = await startConsoleServer();
});
afterAll(async () => server.stop());
// Each test may act as someone else: the admin token again afterwards.
afterEach(() => {
  client.credentials = { kind: 'bearer', token: server.token };
});

/**
 * Picks `option` in the Mantine select labelled `label` inside `scope`. jsdom lays nothing out, so
 * the open dropdown keeps `display: none`: its options are found among hidden elements.
 */
async function choose(scope: HTMLElement, label: string, option: RegExp) {
  fireEvent.click(within(scope).getByRole('combobox', { name: label }));
  fireEvent.click(await screen.findByRole('option', { name: option, hidden: true }));
}

describe('the Users page', () => {
  it('shows the empty state, creates a user who is listed, and shows the refusal to demote the last admin', async () => {
    renderConsole(<UsersPage />);
    await screen.findByText(/No user yet/);

    fireEvent.click(screen.getByRole('button', { name: '+ Create user' }));
    let dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText(/^Email/), { target: { value: 'Ada@Example.com' } });
    fireEvent.change(within(dialog).getByLabelText(/^Password/), { target: { value: 'correct horse battery' } });
    await choose(dialog, 'Role', /^admin/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    const table = await screen.findByRole('table', { name: 'Users' });
    await within(table).findByText('ada@example.com');
    expect(within(table).getByText('admin')).toBeTruthy();
    const listed = (await server.api<{ email: string; role: string }[]>('GET', '/users')).body;
    expect(listed).toMatchObject([{ email: 'ada@example.com', role: 'admin' }]);

    // A refusal of the API is shown in words: the last admin keeps the role.
    fireEvent.click(screen.getByRole('button', { name: 'Edit ada@example.com' }));
    dialog = await screen.findByRole('dialog');
    await choose(dialog, 'Role', /^viewer/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).toContain('ada@example.com is the last admin: make another user admin first (HTTP 409)');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));

    // A second user (a viewer, the default role) to change and delete.
    fireEvent.click(screen.getByRole('button', { name: '+ Create user' }));
    dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText(/^Email/), { target: { value: 'bob@example.com' } });
    fireEvent.change(within(dialog).getByLabelText(/^Password/), { target: { value: 'a good long password' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    await within(table).findByText('bob@example.com');

    // Change the role, then delete.
    fireEvent.click(screen.getByRole('button', { name: 'Edit bob@example.com' }));
    dialog = await screen.findByRole('dialog');
    await choose(dialog, 'Role', /^developer/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    await waitFor(async () =>
      expect((await server.api<{ email: string; role: string }[]>('GET', '/users')).body).toContainEqual(
        expect.objectContaining({ email: 'bob@example.com', role: 'developer' }),
      ),
    );
    fireEvent.click(screen.getByRole('button', { name: 'Delete bob@example.com' }));
    dialog = await screen.findByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(within(table).queryByText('bob@example.com')).toBeNull());
  });

  it('is hidden from a viewer, whom the API refuses the users', async () => {
    await server.api('POST', '/users', { email: 'vera@example.com', password: 'a viewer password', role: 'viewer' });
    const signedIn = await fetch(`${server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'vera@example.com', password: 'a viewer password' }),
    });
    expect(signedIn.status).toBe(200);

    const viewer = renderConsole(<AccountLinks />, { role: 'viewer' });
    await screen.findByRole('link', { name: 'Tokens' });
    expect(screen.queryByRole('link', { name: 'Users' })).toBeNull();
    viewer.unmount();
    renderConsole(<AccountLinks />);
    await screen.findByRole('link', { name: 'Users' });

    // The viewer's own credentials: a viewer token they create themselves.
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = (await signedIn.json()) as { csrfToken: string };
    const created = await fetch(`${server.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'vera', role: 'viewer' }),
    });
    client.credentials = { kind: 'bearer', token: ((await created.json()) as { token: string }).token };
    const refused = await client.users().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(403);

    renderConsole(<UsersPage />, { role: 'viewer' });
    await screen.findByText(/Only an admin manages users/);
    expect(screen.queryByRole('button', { name: '+ Create user' })).toBeNull();
    const [own] = await client.tokens();
    await client.revokeToken(own!.tokenId);
  });
});

describe('the API tokens page', () => {
  it('creates a token, shows its secret once, and revokes it after a confirmation', async () => {
    renderConsole(<TokensPage />);
    await screen.findByText(/No API token yet/);
    fireEvent.click(screen.getByRole('button', { name: '+ Create token' }));
    let dialog = await screen.findByRole('dialog');
    fireEvent.change(within(dialog).getByLabelText(/^Name/), { target: { value: 'CI deploy job' } });
    await choose(dialog, 'Role', /^developer/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));

    dialog = await screen.findByRole('dialog', { name: /Token “CI deploy job” created/ });
    expect(within(dialog).getByRole('alert').textContent).toMatch(/shown only this once/);
    const secret = (within(dialog).getByLabelText('New token') as HTMLTextAreaElement).value;
    expect(secret).toMatch(/^fota_[A-Za-z0-9_-]{43}$/);
    expect(within(dialog).getByRole('button', { name: 'Copy the token' })).toBeTruthy();
    // The secret works, with the role chosen.
    const used = await fetch(`${server.url}/api/v1/prototypes`, { headers: { authorization: `Bearer ${secret}` } });
    expect(used.status).toBe(200);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());

    // Listed without the secret, which is shown nowhere again.
    const table = await screen.findByRole('table', { name: 'API tokens' });
    await within(table).findByText('CI deploy job');
    expect(within(table).getByText('developer')).toBeTruthy();
    expect(within(table).getByText('built-in admin')).toBeTruthy();
    expect(document.body.textContent).not.toContain(secret);

    fireEvent.click(screen.getByRole('button', { name: 'Revoke CI deploy job' }));
    dialog = await screen.findByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(
      (await fetch(`${server.url}/api/v1/prototypes`, { headers: { authorization: `Bearer ${secret}` } })).status,
    ).toBe(200);
    fireEvent.click(screen.getByRole('button', { name: 'Revoke CI deploy job' }));
    dialog = await screen.findByRole('dialog');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke' }));
    await screen.findByText(/No API token yet/);
    const revoked = await fetch(`${server.url}/api/v1/prototypes`, { headers: { authorization: `Bearer ${secret}` } });
    expect(revoked.status).toBe(401);
  });

  it('offers a developer only the roles up to developer', async () => {
    renderConsole(<TokensPage />, { role: 'developer' });
    fireEvent.click(await screen.findByRole('button', { name: '+ Create token' }));
    const dialog = await screen.findByRole('dialog');
    fireEvent.click(within(dialog).getByRole('combobox', { name: 'Role' }));
    const options = (await screen.findAllByRole('option', { hidden: true })).map((option) => option.textContent);
    expect(options).toHaveLength(2);
    expect(options.join(' ')).not.toMatch(/^admin/m);
    expect(options.some((text) => text?.startsWith('developer'))).toBe(true);
    expect(options.some((text) => text?.startsWith('viewer'))).toBe(true);
  });
});
