import { AppShell, Badge, Button, Container, Group, MantineProvider, Title } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import { AccountLinks } from './AccountLinks';
import { client, restore, signOut, type Signed } from './api';
import { ErrorText, Loading } from './components';
import { useEventStream } from './events';
import { DevicePage } from './pages/DevicePage';
import { PrototypePage } from './pages/PrototypePage';
import { PrototypesPage } from './pages/PrototypesPage';
import { PushPage } from './pages/PushPage';
import { SignInPage } from './pages/SignInPage';
import { TokensPage } from './pages/TokensPage';
import { AuditPage } from './pages/AuditPage';
import { UsersPage } from './pages/UsersPage';
import { WebhooksPage } from './pages/WebhooksPage';
import { Link, match, navigate, usePath } from './router';

export const SignedContext = createContext<Signed>({ email: '', role: 'viewer', via: 'session' });

/** Who is signed in; viewers see no push, edit or delete controls. */
export function useSigned(): Signed & { canEdit: boolean } {
  const signed = useContext(SignedContext);
  return { ...signed, canEdit: signed.role !== 'viewer' };
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } });
}

export function App({ queries = makeQueryClient() }: { queries?: QueryClient }) {
  return (
    <MantineProvider>
      <QueryClientProvider client={queries}>
        <Shell queries={queries} />
      </QueryClientProvider>
    </MantineProvider>
  );
}

function Shell({ queries }: { queries: QueryClient }) {
  const [signed, setSigned] = useState<Signed | undefined | null>(null);
  const [failure, setFailure] = useState<unknown>();
  useEffect(() => {
    restore().then(setSigned, (error: unknown) => {
      setFailure(error);
      setSigned(undefined);
    });
  }, []);
  const [ended, setEnded] = useState<string | undefined>();
  // The server ended the session (signed out elsewhere, expired, user deleted): back to sign-in.
  const onUnauthenticated = useCallback(
    (reason: string) => {
      client.credentials = { kind: 'none' };
      queries.clear();
      setEnded(reason);
      setSigned(undefined);
    },
    [queries],
  );
  const stream = useEventStream(client, queries, signed !== null && signed !== undefined, onUnauthenticated);
  if (signed === null) return <Loading what="the console" />;
  if (signed === undefined) {
    return (
      <Container size="xs" py="xl">
        {failure !== undefined && <ErrorText error={failure} title="The server did not answer" />}
        {ended !== undefined && <ErrorText error={new Error(ended)} title="Your session ended: sign in again" />}
        <SignInPage
          onSignedIn={(next) => {
            setEnded(undefined);
            setSigned(next);
          }}
        />
      </Container>
    );
  }
  const leave = () => {
    void signOut(signed).finally(() => {
      queries.clear();
      setSigned(undefined);
      setEnded(undefined);
      navigate('/');
    });
  };
  return (
    <SignedContext.Provider value={signed}>
      <AppShell header={{ height: 56 }} padding="md">
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" wrap="nowrap">
            <Group gap="sm" wrap="nowrap">
              <Title order={4}>
                <Link to="/">fota</Link>
              </Title>
              <Badge color={stream === 'live' ? 'green' : 'yellow'} variant="light" aria-live="polite">
                {stream === 'live' ? 'live' : stream === 'connecting' ? 'connecting…' : 'reconnecting…'}
              </Badge>
            </Group>
            <Group gap="sm" wrap="nowrap">
              <AccountLinks />
              <Badge variant="outline" visibleFrom="xs">
                {signed.email} · {signed.role}
              </Badge>
              <Button variant="subtle" size="compact-sm" onClick={leave}>
                Sign out
              </Button>
            </Group>
          </Group>
        </AppShell.Header>
        <AppShell.Main>
          <Container size="lg" px={0}>
            <Routes />
          </Container>
        </AppShell.Main>
      </AppShell>
    </SignedContext.Provider>
  );
}

function Routes() {
  const path = usePath();
  let params: Record<string, string> | undefined;
  if ((params = match('/prototypes/:pid', path))) return <PrototypePage pid={params['pid']!} />;
  if ((params = match('/prototypes/:pid/:tab', path)))
    return <PrototypePage pid={params['pid']!} tab={params['tab']!} />;
  if ((params = match('/devices/:deviceId', path))) return <DevicePage deviceId={params['deviceId']!} />;
  if ((params = match('/pushes/:pushId', path))) return <PushPage pushId={params['pushId']!} />;
  if (path === '/users') return <UsersPage />;
  if (path === '/tokens') return <TokensPage />;
  if (path === '/audit') return <AuditPage />;
  if (path === '/webhooks') return <WebhooksPage />;
  if (path === '/' || path === '' || path === '/prototypes') return <PrototypesPage />;
  return <ErrorText title="No such page" error={new Error(`nothing is at ${path}`)} />;
}
