import { Button, Divider, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { signInWithPassword, signInWithToken, type Signed } from '../api';
import { ErrorText } from '../components';

export function SignInPage({ onSignedIn }: { onSignedIn: (signed: Signed) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const run = (attempt: () => Promise<Signed>) => async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await attempt());
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper withBorder p="lg" radius="md">
      <Stack>
        <Title order={2}>Sign in to fota</Title>
        {error !== undefined && <ErrorText error={error} title="Not signed in" />}
        <form onSubmit={run(() => signInWithPassword(email, password))}>
          <Stack gap="sm">
            <TextInput
              label="Email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
            />
            <PasswordInput
              label="Password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy}>
              Sign in
            </Button>
          </Stack>
        </form>
        <Divider label="or" />
        <form onSubmit={run(() => signInWithToken(token.trim()))}>
          <Stack gap="sm">
            <PasswordInput
              label="Admin token"
              description="Printed by fota serve on its first start, or FOTA_ADMIN_TOKEN"
              required
              value={token}
              onChange={(e) => setToken(e.currentTarget.value)}
            />
            <Button type="submit" variant="light" loading={busy}>
              Sign in with the admin token
            </Button>
          </Stack>
        </form>
        <Text size="xs" c="dimmed">
          Without sessions on this server, the token stays in this tab only and is forgotten when it closes.
        </Text>
      </Stack>
    </Paper>
  );
}
