import { Alert, Box, Center, Group, Loader, Text, Tooltip } from '@mantine/core';
import type { ReactNode } from 'react';
import { errorText } from './api';

/** The green or grey dot of a device: connected or not. */
export function LiveDot({ online }: { online: boolean }) {
  const label = online ? 'online' : 'offline';
  return (
    <Tooltip label={label}>
      <Box
        component="span"
        role="img"
        aria-label={label}
        data-online={online}
        style={{
          display: 'inline-block',
          width: 12,
          height: 12,
          borderRadius: '50%',
          flex: 'none',
          background: online ? 'var(--mantine-color-green-6)' : 'var(--mantine-color-gray-5)',
        }}
      />
    </Tooltip>
  );
}

export function ErrorText({ error, title = 'Something went wrong' }: { error: unknown; title?: string }) {
  return (
    <Alert color="red" title={title} role="alert">
      {errorText(error)}
    </Alert>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <Center p="lg">
      <Group gap="xs">
        <Loader size="sm" />
        <Text c="dimmed">Loading {what}…</Text>
      </Group>
    </Center>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <Text c="dimmed" p="md" ta="center">
      {children}
    </Text>
  );
}

export function formatDate(iso: string): string {
  return new Date(iso).toLocaleString();
}
