import { Button, Group, Stack, Table, Tabs, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { memo, useState, type FormEvent } from 'react';
import type { DeviceBody, FirmwareBody } from '../../../src/contract/schemas.js';
import { ApiError } from '../../../src/contract/http-client.js';
import { client } from '../api';
import { useSigned } from '../App';
import {
  ConfirmDialog,
  DataTable,
  ErrorText,
  formatDate,
  FormDialog,
  QueryState,
  RowActions,
  RowButton,
  useChange,
} from '../components';
import { follow, Link, navigate } from '../router';
import { presenceColors } from '../status';
import '../rows.css';
import { Fleet } from './Fleet';
import { FirmwareWizard } from './FirmwareWizard';

export function PrototypePage({ pid, tab = 'firmware' }: { pid: string; tab?: string }) {
  const prototype = useQuery({ queryKey: ['prototype', pid], queryFn: () => client.prototype(pid) });
  return (
    <QueryState query={prototype} what="prototype" errorTitle="The prototype could not be read">
      {(found) => (
        <Stack>
          <Text size="sm">
            <Link to="/">Prototypes</Link> / {found.name}
          </Text>
          <Title order={2}>{found.name}</Title>
          {found.description && <Text c="dimmed">{found.description}</Text>}
          <SigningKeyLine pid={pid} />
          <Tabs
            value={tab === 'devices' ? 'devices' : 'firmware'}
            onChange={(value) => navigate(`/prototypes/${pid}/${value}`)}
          >
            <Tabs.List>
              <Tabs.Tab value="firmware">Firmware</Tabs.Tab>
              <Tabs.Tab value="devices">Devices</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="firmware" pt="md">
              {tab !== 'devices' && <FirmwareTab pid={pid} />}
            </Tabs.Panel>
            <Tabs.Panel value="devices" pt="md">
              {tab === 'devices' && <DevicesTab pid={pid} />}
            </Tabs.Panel>
          </Tabs>
        </Stack>
      )}
    </QueryState>
  );
}

/** "All", or the names and versions of the firmware a device must run. */
export function prerequisiteText(firmware: FirmwareBody, all: FirmwareBody[]): string {
  if (firmware.prerequisites === 'all') return 'All';
  return firmware.prerequisites
    .map((fwId) => {
      const found = all.find((candidate) => candidate.fwId === fwId);
      return found ? `${found.name} ${found.version}` : fwId;
    })
    .join(', ');
}

/** The prototype's current public key and its id, which devices verify signed manifests with. */
export function SigningKeyLine({ pid }: { pid: string }) {
  const key = useQuery({
    queryKey: ['signing-key', pid],
    // No key is an answer, not a failure.
    queryFn: () =>
      client.signingKey(pid).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }),
  });
  if (key.isError) return <ErrorText error={key.error} />;
  if (key.data === undefined) return null;
  if (key.data === null) {
    return (
      <Text size="sm" c="dimmed" aria-label="Signing key">
        Signing key: none, firmware is not signed
      </Text>
    );
  }
  return (
    <Text size="sm" aria-label="Signing key">
      Signing key <code>{key.data.keyId}</code> (Ed25519,{' '}
      {key.data.heldBy === 'server' ? 'held by the server' : 'held by its owner'}
      ): public key <code style={{ wordBreak: 'break-all' }}>{key.data.publicKey}</code>
    </Text>
  );
}

export function FirmwareTab({ pid }: { pid: string }) {
  const { canEdit } = useSigned();
  const firmwares = useQuery({ queryKey: ['firmwares', pid], queryFn: () => client.firmwares(pid) });
  const signatures = useQuery({
    queryKey: ['firmwares', pid, 'signatures'],
    queryFn: () => client.prototypeSignatures(pid),
  });
  const signedBy = (fwId: string): string => {
    if (!signatures.data) return '';
    const signature = signatures.data.find((candidate) => candidate.fwId === fwId);
    return signature ? `Yes, key ${signature.keyId}` : 'No';
  };
  const [wizard, setWizard] = useState<{ push?: FirmwareBody } | undefined>();
  const [editing, setEditing] = useState<FirmwareBody | undefined>();
  const [deleting, setDeleting] = useState<FirmwareBody | undefined>();
  return (
    <Stack>
      {canEdit && (
        <Group>
          <Button onClick={() => setWizard({})}>+ Add firmware</Button>
        </Group>
      )}
      <QueryState query={firmwares} what="firmware" empty="No firmware yet.">
        {(list) => (
          <DataTable
            label="Firmware"
            minWidth={720}
            columns={[
              '#',
              'Name',
              'Version',
              'Release note',
              'Prerequisite',
              'Release date',
              'Signed',
              ...(canEdit ? ['Actions'] : []),
            ]}
          >
            {list.map((firmware, index) => (
              <Table.Tr key={firmware.fwId}>
                <Table.Td>{index + 1}</Table.Td>
                <Table.Td>{firmware.name}</Table.Td>
                <Table.Td>{firmware.version}</Table.Td>
                <Table.Td style={{ whiteSpace: 'pre-wrap' }}>{firmware.releaseNote}</Table.Td>
                <Table.Td>{prerequisiteText(firmware, list)}</Table.Td>
                <Table.Td>{formatDate(firmware.createdAt)}</Table.Td>
                <Table.Td>{signedBy(firmware.fwId)}</Table.Td>
                {canEdit && (
                  <Table.Td>
                    <RowActions>
                      <Button
                        size="compact-sm"
                        onClick={() => setWizard({ push: firmware })}
                        aria-label={`Push ${firmware.name} ${firmware.version}`}
                      >
                        Push
                      </Button>
                      <RowButton onClick={() => setEditing(firmware)}>Edit</RowButton>
                      <RowButton color="red" onClick={() => setDeleting(firmware)}>
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
      {wizard !== undefined && <FirmwareWizard pid={pid} pushOnly={wizard.push} onClose={() => setWizard(undefined)} />}
      {editing !== undefined && <EditFirmware firmware={editing} onClose={() => setEditing(undefined)} />}
      {deleting !== undefined && <DeleteFirmware firmware={deleting} onClose={() => setDeleting(undefined)} />}
    </Stack>
  );
}

function EditFirmware({ firmware, onClose }: { firmware: FirmwareBody; onClose: () => void }) {
  const [name, setName] = useState(firmware.name);
  const [releaseNote, setReleaseNote] = useState(firmware.releaseNote);
  const save = useChange(
    () => client.editFirmware(firmware.fwId, { name, releaseNote }),
    [['firmwares', firmware.prototypeId]],
    onClose,
  );
  return (
    <FormDialog
      title={`Edit firmware ${firmware.version}`}
      onClose={onClose}
      change={save}
      submit="Save"
      errorTitle="Not saved"
    >
      <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
      <Textarea label="Release note" value={releaseNote} onChange={(e) => setReleaseNote(e.currentTarget.value)} />
    </FormDialog>
  );
}

function DeleteFirmware({ firmware, onClose }: { firmware: FirmwareBody; onClose: () => void }) {
  const remove = useChange(
    (force: boolean) => client.deleteFirmware(firmware.fwId, force),
    [['firmwares', firmware.prototypeId]],
    onClose,
  );
  const refused = remove.error instanceof ApiError && remove.error.status === 409;
  return (
    <ConfirmDialog
      title={`Delete firmware ${firmware.name} ${firmware.version}?`}
      onClose={onClose}
      change={{ error: remove.error, isPending: remove.isPending, mutate: () => remove.mutate(refused) }}
      confirm={refused ? 'Delete anyway' : 'Delete'}
      errorTitle="Not deleted"
    />
  );
}

/** "name, version" of what a device reports, "All, N/A" before any report. */
export function currentlyUses(device: DeviceBody, firmwares: readonly FirmwareBody[]): string {
  if (device.firmware === null) return 'All, N/A';
  const found = firmwares.find((firmware) => firmware.fwId === device.firmware?.fwId);
  return `${found?.name ?? 'deleted firmware'}, ${device.firmware.version}`;
}

export function DevicesTab({ pid }: { pid: string }) {
  const { canEdit } = useSigned();
  const queries = useQueryClient();
  const devices = useQuery({ queryKey: ['devices', pid], queryFn: () => client.devices(pid) });
  const firmwares = useQuery({ queryKey: ['firmwares', pid], queryFn: () => client.firmwares(pid) });
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => client.createDevice(pid, { name }),
    onSuccess: () => {
      setName('');
      void queries.invalidateQueries({ queryKey: ['devices', pid] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Stack>
      {canEdit && (
        <form onSubmit={submit}>
          <Group align="flex-end">
            <TextInput label="New device name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
            <Button type="submit" loading={create.isPending}>
              + Create device
            </Button>
          </Group>
          {create.isError && <ErrorText error={create.error} title="The device was not created" />}
        </form>
      )}
      <QueryState query={devices} what="devices" empty="No device yet.">
        {(list) => (
          <>
            <Fleet devices={list} firmwares={firmwares.data} />
            <DeviceTable devices={list} firmwares={firmwares.data ?? []} />
          </>
        )}
      </QueryState>
    </Stack>
  );
}

/** The devices of a prototype; a row renders again only when its device changed (a live dot). */
function DeviceTable({ devices, firmwares }: { devices: readonly DeviceBody[]; firmwares: readonly FirmwareBody[] }) {
  return (
    <Table.ScrollContainer minWidth={520}>
      <Table striped aria-label="Devices">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Device</Table.Th>
            <Table.Th>Device id</Table.Th>
            <Table.Th>Currently use</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        {/* Plain rows (console/src/rows.css): 1,000 of them render in a fraction of Mantine's cost. */}
        <tbody className="fota-rows">
          {devices.map((device) => (
            <DeviceRow key={device.deviceId} device={device} firmwares={firmwares} />
          ))}
        </tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

const DeviceRow = memo(function DeviceRow({
  device,
  firmwares,
}: {
  device: DeviceBody;
  firmwares: readonly FirmwareBody[];
}) {
  const online = device.presence.online;
  const href = `/devices/${device.deviceId}`;
  return (
    <tr data-device={device.deviceId}>
      <td>
        <span className="fota-cell-name">
          <span
            className="fota-dot"
            role="img"
            aria-label={online ? 'online' : 'offline'}
            title={online ? 'online' : 'offline'}
            data-online={online}
            style={{ background: online ? presenceColors.online : presenceColors.offline }}
          />
          <a className="fota-link mantine-focus-auto" href={href} onClick={(event) => follow(event, href)}>
            {device.name}
          </a>
        </span>
      </td>
      <td>
        <code>{device.deviceId}</code>
      </td>
      <td>{currentlyUses(device, firmwares)}</td>
      <td>{formatDate(device.createdAt)}</td>
    </tr>
  );
});
