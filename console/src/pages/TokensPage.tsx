import { Badge, Button, Code, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { ApiTokenBody, ApiTokenCreatedBody } from '../../../src/contract/schemas.js';
import type { Role } from '../../../src/contract/http-client.js';
import { client } from '../api';
import { useSigned } from '../App';
import {
  ConfirmDialog,
  DataTable,
  Empty,
  ErrorText,
  formatDate,
  FormDialog,
  Loading,
  RowButton,
  useChange,
} from '../components';
import { SecretOnce } from '../SecretOnce';
import { roleOptions } from './UsersPage';

const rank: Record<Role, number> = { viewer: 0, developer: 1, admin: 2 };

/** The roles a token of someone with `role` may have: none higher than theirs (the server checks it too). */
export const tokenRoles = (role: Role) => roleOptions.filter((option) => rank[option.value] <= rank[role]);

/** API tokens for scripts and CI: one's own, or every user's for an admin. */
export function TokensPage() {
  const { role } = useSigned();
  const admin = role === 'admin';
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: () => client.tokens() });
  // Owners by email, for an admin, who sees every user's tokens.
  const users = useQuery({ queryKey: ['users'], queryFn: () => client.users(), enabled: admin });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiTokenCreatedBody | undefined>();
  const [revoking, setRevoking] = useState<ApiTokenBody | undefined>();
  const owner = (token: ApiTokenBody): string =>
    token.userId === null
      ? 'built-in admin'
      : (users.data?.find((user) => user.userId === token.userId)?.email ?? token.userId);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>API tokens</Title>
        <Button onClick={() => setCreating(true)}>+ Create token</Button>
      </Group>
      <Text c="dimmed" size="sm">
        Scripts, CI and the fota command send a token as <Code>Authorization: Bearer …</Code> (or{' '}
        <Code>FOTA_TOKEN</Code>). A token acts with its role, never higher than its owner&apos;s.
        {admin ? ' As an admin you see and may revoke every user’s tokens.' : ''}
      </Text>
      {tokens.isPending && <Loading what="API tokens" />}
      {tokens.isError && <ErrorText error={tokens.error} title="The API tokens could not be read" />}
      {tokens.data?.length === 0 && <Empty>No API token yet: create one for a script or a CI job.</Empty>}
      {tokens.data !== undefined && tokens.data.length > 0 && (
        <DataTable
          label="API tokens"
          minWidth={760}
          highlightOnHover
          columns={['Name', 'Role', ...(admin ? ['Owner'] : []), 'Created', 'Last used', 'Actions']}
        >
          {tokens.data.map((token) => (
            <Table.Tr key={token.tokenId}>
              <Table.Td>{token.name}</Table.Td>
              <Table.Td>
                <Badge variant="light" color="gray">
                  {token.role}
                </Badge>
              </Table.Td>
              {admin && <Table.Td>{owner(token)}</Table.Td>}
              <Table.Td>{formatDate(token.createdAt)}</Table.Td>
              <Table.Td>{token.lastUsedAt === null ? 'never' : formatDate(token.lastUsedAt)}</Table.Td>
              <Table.Td>
                <RowButton label={`Revoke ${token.name}`} color="red" onClick={() => setRevoking(token)}>
                  Revoke
                </RowButton>
              </Table.Td>
            </Table.Tr>
          ))}
        </DataTable>
      )}
      {creating && (
        <CreateToken
          role={role}
          onClose={() => setCreating(false)}
          onCreated={(token) => {
            setCreating(false);
            setCreated(token);
          }}
        />
      )}
      {created !== undefined && <NewSecret token={created} onClose={() => setCreated(undefined)} />}
      {revoking !== undefined && <RevokeToken token={revoking} onClose={() => setRevoking(undefined)} />}
    </Stack>
  );
}

function CreateToken({
  role: mine,
  onClose,
  onCreated,
}: {
  role: Role;
  onClose: () => void;
  onCreated: (token: ApiTokenCreatedBody) => void;
}) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const allowed = tokenRoles(mine);
  const create = useChange(() => client.createToken({ name: name.trim(), role }), [['tokens']], onCreated);
  return (
    <FormDialog title="Create API token" onClose={onClose} change={create} submit="Create" errorTitle="Not created">
      <TextInput
        label="Name"
        description="What uses it, such as “CI deploy job”"
        required
        maxLength={100}
        data-autofocus
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
      />
      <Select
        label="Role"
        description={`No higher than yours (${mine})`}
        data={allowed}
        value={role}
        allowDeselect={false}
        onChange={(next) => {
          const found = allowed.find((option) => option.value === next);
          if (found) setRole(found.value);
        }}
      />
    </FormDialog>
  );
}

/** The token's secret, shown this once: the server keeps only its hash. */
function NewSecret({ token, onClose }: { token: ApiTokenCreatedBody; onClose: () => void }) {
  return (
    <SecretOnce
      title={`Token “${token.name}” created`}
      what="token"
      label="New token"
      secret={token.token}
      onDone={onClose}
    >
      fota keeps only a hash of the token and cannot show it again. If you lose it, revoke it and create another.
    </SecretOnce>
  );
}

function RevokeToken({ token, onClose }: { token: ApiTokenBody; onClose: () => void }) {
  const revoke = useChange(() => client.revokeToken(token.tokenId), [['tokens']], onClose);
  return (
    <ConfirmDialog
      title={`Revoke ${token.name}?`}
      onClose={onClose}
      change={revoke}
      confirm="Revoke"
      errorTitle="Not revoked"
    >
      <Text>Whatever uses it is refused from now on. This cannot be undone.</Text>
    </ConfirmDialog>
  );
}
