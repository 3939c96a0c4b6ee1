import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFota, stopAllFota } from '../support/fota-cli.js';
import { startServer, type TestServer } from '../support/server.js';

/** `fota users …` and `fota tokens …` against the real server. */
describe('fota users and tokens', { timeout: 180_000 }, () => {
  let server: TestServer;
  const env = () => ({ FOTA_URL: server.url, FOTA_TOKEN: server.token });

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    stopAllFota();
    await server.stop();
  });

  it('creates users with a password from standard input or FOTA_USER_PASSWORD, lists and deletes them', async () => {
    const fromStdin = await runFota(
      ['users', 'create', 'Ada@Example.com', '--role', 'admin', '--password-stdin', '--json'],
      env(),
      'a long enough password\n',
    );
    expect(fromStdin.stderr).toBe('');
    const ada = JSON.parse(fromStdin.stdout);
    expect(ada).toMatchObject({ email: 'ada@example.com', role: 'admin' });
    const signIn = await fetch(`${server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.com', password: 'a long enough password' }),
    });
    expect(signIn.status).toBe(200);

    const fromEnv = await runFota(['users', 'create', 'bob@example.com', '--role', 'viewer'], {
      ...env(),
      FOTA_USER_PASSWORD: 'another long password',
    });
    expect(fromEnv.stdout).toMatch(/^Created user U/);
    const none = await runFota(['users', 'create', 'eve@example.com', '--role', 'viewer'], env());
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no password');

    const list = await runFota(['users', 'list'], env());
    expect(list.stdout).toContain('ada@example.com');
    expect(list.stdout).toContain('bob@example.com');
    const last = await runFota(['users', 'delete', ada.userId], env());
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('last admin');
  });

  it('creates, lists and revokes tokens', async () => {
    const created = await runFota(['tokens', 'create', 'ci', '--role', 'viewer', '--json'], env());
    const token = JSON.parse(created.stdout);
    expect(token.token).toMatch(/^fota_/);
    const asViewer = await runFota(['prototypes', 'create', 'p'], { FOTA_URL: server.url, FOTA_TOKEN: token.token });
    expect(asViewer.code).toBe(1);
    expect(asViewer.stderr).toContain('HTTP 403');
    expect((await runFota(['tokens', 'list'], env())).stdout).toContain(token.tokenId);
    expect((await runFota(['tokens', 'revoke', token.tokenId], env())).stdout).toBe(`Revoked token ${token.tokenId}\n`);
    const revoked = await runFota(['prototypes', 'list'], { FOTA_URL: server.url, FOTA_TOKEN: token.token });
    expect(revoked.stderr).toContain('HTTP 401');
  });
});
