import {
  Alert,
  Badge,
  Button,
  Group,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { UserBody } from '../../../src/contract/schemas.js';
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
  RowActions,
  RowButton,
  useChange,
} from '../components';

/** The server's rule, shown before it is sent: it refuses shorter passwords too. */
const MIN_PASSWORD_LENGTH = 10;

export const roleOptions: { value: Role; label: string }[] = [
  { value: 'viewer', label: 'viewer: reads everything but device keys' },
  { value: 'developer', label: 'developer: also firmware, devices and pushes' },
  { value: 'admin', label: 'admin: also users and every token' },
];

const isRole = (value: string | null): value is Role => roleOptions.some((option) => option.value === value);

/** The people who sign in to the console: admins only (the API refuses anyone else). */
export function UsersPage() {
  const { role } = useSigned();
  const admin = role === 'admin';
  const users = useQuery({ queryKey: ['users'], queryFn: () => client.users(), enabled: admin });
  const [editing, setEditing] = useState<UserBody | 'new' | undefined>();
  const [deleting, setDeleting] = useState<UserBody | undefined>();
  if (!admin) {
    return (
      <Stack>
        <Title order={2}>Users</Title>
        <Alert color="gray" title="Admins only" role="status">
          Only an admin manages users. Ask one to change your role.
        </Alert>
      </Stack>
    );
  }
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Users</Title>
        <Button onClick={() => setEditing('new')}>+ Create user</Button>
      </Group>
      {users.isPending && <Loading what="users" />}
      {users.isError && <ErrorText error={users.error} title="The users could not be read" />}
      {users.data?.length === 0 && (
        <Empty>No user yet: you are signed in with the admin token. Create the first admin.</Empty>
      )}
      {users.data !== undefined && users.data.length > 0 && (
        <DataTable label="Users" minWidth={600} highlightOnHover columns={['Email', 'Role', 'Created', 'Actions']}>
          {users.data.map((user) => (
            <Table.Tr key={user.userId}>
              <Table.Td>{user.email}</Table.Td>
              <Table.Td>
                <Badge
                  variant="light"
                  color={user.role === 'admin' ? 'grape' : user.role === 'developer' ? 'blue' : 'gray'}
                >
                  {user.role}
                </Badge>
              </Table.Td>
              <Table.Td>{formatDate(user.createdAt)}</Table.Td>
              <Table.Td>
                <RowActions>
                  <RowButton label={`Edit ${user.email}`} onClick={() => setEditing(user)}>
                    Edit
                  </RowButton>
                  <RowButton label={`Delete ${user.email}`} color="red" onClick={() => setDeleting(user)}>
                    Delete
                  </RowButton>
                </RowActions>
              </Table.Td>
            </Table.Tr>
          ))}
        </DataTable>
      )}
      {editing === 'new' && <CreateUser onClose={() => setEditing(undefined)} />}
      {editing !== undefined && editing !== 'new' && <EditUser user={editing} onClose={() => setEditing(undefined)} />}
      {deleting !== undefined && <DeleteUser user={deleting} onClose={() => setDeleting(undefined)} />}
    </Stack>
  );
}

function RoleSelect({ value, onChange }: { value: Role; onChange: (role: Role) => void }) {
  return (
    <Select
      label="Role"
      data={roleOptions}
      value={value}
      allowDeselect={false}
      onChange={(next) => {
        if (isRole(next)) onChange(next);
      }}
    />
  );
}

function CreateUser({ onClose }: { onClose: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const create = useChange(() => client.createUser({ email, password, role }), [['users']], onClose);
  return (
    <FormDialog title="Create user" onClose={onClose} change={create} submit="Create" errorTitle="Not created">
      <TextInput
        label="Email"
        type="email"
        required
        data-autofocus
        autoComplete="off"
        value={email}
        onChange={(e) => setEmail(e.currentTarget.value)}
      />
      <PasswordInput
        label="Password"
        description={`${MIN_PASSWORD_LENGTH} characters or more; give it to the person, who signs in with it`}
        required
        minLength={MIN_PASSWORD_LENGTH}
        autoComplete="new-password"
        value={password}
        onChange={(e) => setPassword(e.currentTarget.value)}
      />
      <RoleSelect value={role} onChange={setRole} />
    </FormDialog>
  );
}

function EditUser({ user, onClose }: { user: UserBody; onClose: () => void }) {
  const [role, setRole] = useState<Role>(user.role);
  const [password, setPassword] = useState('');
  const save = useChange(
    () =>
      client.updateUser(user.userId, {
        ...(role === user.role ? {} : { role }),
        ...(password === '' ? {} : { password }),
      }),
    [['users'], ['tokens']],
    onClose,
  );
  const unchanged = role === user.role && password === '';
  return (
    <FormDialog
      title={`Edit ${user.email}`}
      onClose={onClose}
      change={save}
      submit="Save"
      errorTitle="Not saved"
      disabled={unchanged}
    >
      <RoleSelect value={role} onChange={setRole} />
      <PasswordInput
        label="New password"
        description={`Leave empty to keep the password. A new one (${MIN_PASSWORD_LENGTH} characters or more) signs the user out everywhere.`}
        minLength={MIN_PASSWORD_LENGTH}
        autoComplete="new-password"
        value={password}
        onChange={(e) => setPassword(e.currentTarget.value)}
      />
      <Text size="sm" c="dimmed">
        A lower role applies at once, to the user&apos;s sessions and API tokens too.
      </Text>
    </FormDialog>
  );
}

function DeleteUser({ user, onClose }: { user: UserBody; onClose: () => void }) {
  const remove = useChange(() => client.deleteUser(user.userId), [['users'], ['tokens']], onClose);
  return (
    <ConfirmDialog
      title={`Delete ${user.email}?`}
      onClose={onClose}
      change={remove}
      confirm="Delete"
      errorTitle="Not deleted"
    >
      <Text>They are signed out at once, and their API tokens stop working.</Text>
    </ConfirmDialog>
  );
}
