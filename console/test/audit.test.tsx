import { configure, fireEvent, screen, within } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountLinks } from '../src/AccountLinks';
import { AuditPage } from '../src/pages/AuditPage';
import { renderConsole, startConsoleServer, type ConsoleServer } from './harness';

configure({ asyncUtilTimeout: 10_000 });

let server: ConsoleServer;
beforeAll(async () => {
  server = await startConsoleServer();
});
afterAll(async () => server.stop());

describe('the Audit page', () => {
  it('lists the actions newest first, filters them, and links to the exports', async () => {
    expect((await server.api('POST', '/prototypes', { name: 'lamp' })).status).toBe(201);
    expect((await server.api('PATCH', '/prototypes/Pnope', { name: 'x' })).status).toBe(404);
    renderConsole(<AuditPage />);
    const table = await screen.findByRole('table', { name: 'Audit log' });
    const rows = await within(table).findAllByRole('row');
    expect(rows[1]!.textContent).toContain('prototype.update');
    expect(rows[1]!.textContent).toContain('404 not_found');
    expect(rows[2]!.textContent).toContain('prototype.create');
    expect(rows[2]!.textContent).toContain('admin');
    expect(rows[2]!.textContent).toContain('127.0.0.1');

    fireEvent.change(screen.getByLabelText('Kind'), { target: { value: 'user.delete' } });
    fireEvent.click(screen.getByRole('button', { name: 'Filter' }));
    await screen.findByText('No entries match.');
    expect(screen.getByRole('button', { name: 'Export CSV' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Export JSON' })).toBeTruthy();
  });

  it('is for admins only, and only admins see its link', async () => {
    renderConsole(<AuditPage />, { role: 'developer' });
    expect(await screen.findByText('Admins only')).toBeTruthy();
    renderConsole(<AccountLinks />, { role: 'viewer' });
    expect(screen.queryByRole('link', { name: 'Audit' })).toBeNull();
    renderConsole(<AccountLinks />, { role: 'admin' });
    expect(screen.getByRole('link', { name: 'Audit' }).getAttribute('href')).toBe('/audit');
  });
});
