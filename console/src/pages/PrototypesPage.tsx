import { Button, Group, Radio, Select, Stack, Table, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { PrototypeBody } from '../../../src/contract/schemas.js';
import { ApiError } from '../../../src/contract/http-client.js';
import { client } from '../api';
import { useSigned } from '../App';
import {
  ConfirmDialog,
  DataTable,
  formatDate,
  FormDialog,
  QueryState,
  RowActions,
  RowButton,
  useChange,
} from '../components';
import { Link } from '../router';

export function PrototypesPage() {
  const { canEdit } = useSigned();
  const prototypes = useQuery({ queryKey: ['prototypes'], queryFn: () => client.prototypes() });
  const [editing, setEditing] = useState<PrototypeBody | 'new' | undefined>();
  const [deleting, setDeleting] = useState<PrototypeBody | undefined>();
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Prototypes</Title>
        {canEdit && <Button onClick={() => setEditing('new')}>+ Create prototype</Button>}
      </Group>
      <QueryState
        query={prototypes}
        what="prototypes"
        empty={`No prototype yet${canEdit ? ': create the first one.' : '.'}`}
      >
        {(list) => (
          <DataTable
            minWidth={560}
            highlightOnHover
            columns={['Name', 'Description', 'Versions', 'Created', ...(canEdit ? ['Actions'] : [])]}
          >
            {list.map((prototype) => (
              <Table.Tr key={prototype.prototypeId}>
                <Table.Td>
                  <Link to={`/prototypes/${prototype.prototypeId}`}>{prototype.name}</Link>
                </Table.Td>
                <Table.Td>{prototype.description}</Table.Td>
                <Table.Td>{prototype.versionPolicy}</Table.Td>
                <Table.Td>{formatDate(prototype.createdAt)}</Table.Td>
                {canEdit && (
                  <Table.Td>
                    <RowActions>
                      <RowButton onClick={() => setEditing(prototype)}>Edit</RowButton>
                      <RowButton color="red" onClick={() => setDeleting(prototype)}>
                        Delete
                      </RowButton>
                    </RowActions>
                  </Table.Td>
                )}
              </Table.Tr>
            ))}
          </DataTable>
        )}
      </QueryState>
      {editing !== undefined && <PrototypeForm prototype={editing} onClose={() => setEditing(undefined)} />}
      {deleting !== undefined && <DeletePrototype prototype={deleting} onClose={() => setDeleting(undefined)} />}
    </Stack>
  );
}

function PrototypeForm({ prototype, onClose }: { prototype: PrototypeBody | 'new'; onClose: () => void }) {
  const isNew = prototype === 'new';
  const [name, setName] = useState(isNew ? '' : prototype.name);
  const [description, setDescription] = useState(isNew ? '' : prototype.description);
  const [versionPolicy, setVersionPolicy] = useState<'any' | 'increasing'>(isNew ? 'any' : prototype.versionPolicy);
  const [board, setBoard] = useState<PrototypeBody['board']>(isNew ? 'mcs' : prototype.board);
  // A LinkIt Connect 7681 prototype keeps the `increasing` policy: the server refuses another one.
  const linkit = board === 'linkit7681';
  const save = useChange(
    () =>
      isNew
        ? client.createPrototype({ name, description, versionPolicy: linkit ? 'increasing' : versionPolicy, board })
        : client.editPrototype(prototype.prototypeId, { name, description, versionPolicy }),
    [['prototypes'], ['prototype']],
    onClose,
  );
  return (
    <FormDialog
      title={isNew ? 'Create prototype' : `Edit ${prototype.name}`}
      onClose={onClose}
      change={save}
      submit={isNew ? 'Create' : 'Save'}
      errorTitle="Not saved"
    >
      <TextInput label="Name" required data-autofocus value={name} onChange={(e) => setName(e.currentTarget.value)} />
      <Textarea label="Description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} />
      <Radio.Group
        label="Boards"
        description={isNew ? 'Fixed once the prototype exists' : 'Fixed at creation'}
        value={board}
        onChange={(value) => setBoard(value === 'linkit7681' ? 'linkit7681' : 'mcs')}
      >
        <Stack gap={6} mt={6}>
          <Radio value="mcs" label="MCS devices (HTTP, TCP, MQTT)" disabled={!isNew} />
          <Radio
            value="linkit7681"
            label="LinkIt Connect 7681 (its encrypted protocol; versions major.minor)"
            disabled={!isNew}
          />
        </Stack>
      </Radio.Group>
      <Select
        label="Versions"
        data={[
          { value: 'any', label: 'any: free versions' },
          { value: 'increasing', label: 'increasing: each new version higher (LinkIt 7681)' },
        ]}
        value={linkit ? 'increasing' : versionPolicy}
        disabled={linkit}
        allowDeselect={false}
        onChange={(value) => setVersionPolicy(value === 'increasing' ? 'increasing' : 'any')}
      />
    </FormDialog>
  );
}

function DeletePrototype({ prototype, onClose }: { prototype: PrototypeBody; onClose: () => void }) {
  const remove = useChange(
    (force: boolean) => client.deletePrototype(prototype.prototypeId, force),
    [['prototypes']],
    onClose,
  );
  const refused = remove.error instanceof ApiError && remove.error.status === 409;
  return (
    <ConfirmDialog
      title={`Delete ${prototype.name}?`}
      onClose={onClose}
      change={{ error: remove.error, isPending: remove.isPending, mutate: () => remove.mutate(refused) }}
      confirm={refused ? 'Delete anyway' : 'Delete'}
      errorTitle="Not deleted"
    >
      <Text>Its devices and firmware go with it.</Text>
    </ConfirmDialog>
  );
}
