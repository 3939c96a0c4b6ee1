import {
  Button,
  Group,
  Modal,
  Paper,
  Progress,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { DeviceBody, FirmwareBody } from '../../../src/contract/schemas.js';
import { ApiError } from '../../../src/contract/http-client.js';
import { client } from '../api';
import { useSigned } from '../App';
import { Empty, ErrorText, formatDate, LiveDot, Loading } from '../components';
import { Link, navigate } from '../router';
import { FirmwareWizard } from './FirmwareWizard';

export function PrototypePage({ pid, tab = 'firmware' }: { pid: string; tab?: string }) {
  const prototype = useQuery({ queryKey: ['prototype', pid], queryFn: () => client.prototype(pid) });
  if (prototype.isPending) return <Loading what="the prototype" />;
  if (prototype.isError) return <ErrorText error={prototype.error} title="The prototype could not be read" />;
  return (
    <Stack>
      <Text size="sm">
        <Link to="/">Prototypes</Link> / {prototype.data.name}
      </Text>
      <Title order={2}>{prototype.data.name}</Title>
      {prototype.data.description && <Text c="dimmed">{prototype.data.description}</Text>}
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

export function FirmwareTab({ pid }: { pid: string }) {
  const { canEdit } = useSigned();
  const firmwares = useQuery({ queryKey: ['firmwares', pid], queryFn: () => client.firmwares(pid) });
  const [wizard, setWizard] = useState<{ push?: FirmwareBody } | undefined>();
  const [editing, setEditing] = useState<FirmwareBody | undefined>();
  const [deleting, setDeleting] = useState<FirmwareBody | undefined>();
  const list = firmwares.data ?? [];
  return (
    <Stack>
      {canEdit && (
        <Group>
          <Button onClick={() => setWizard({})}>+ Add firmware</Button>
        </Group>
      )}
      {firmwares.isPending && <Loading what="firmware" />}
      {firmwares.isError && <ErrorText error={firmwares.error} title="The firmware could not be read" />}
      {firmwares.data?.length === 0 && <Empty>No firmware yet.</Empty>}
      {list.length > 0 && (
        <Table.ScrollContainer minWidth={720}>
          <Table striped aria-label="Firmware">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>#</Table.Th>
                <Table.Th>Name</Table.Th>
                <Table.Th>Version</Table.Th>
                <Table.Th>Release note</Table.Th>
                <Table.Th>Prerequisite</Table.Th>
                <Table.Th>Release date</Table.Th>
                {canEdit && <Table.Th>Actions</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.map((firmware, index) => (
                <Table.Tr key={firmware.fwId}>
                  <Table.Td>{index + 1}</Table.Td>
                  <Table.Td>{firmware.name}</Table.Td>
                  <Table.Td>{firmware.version}</Table.Td>
                  <Table.Td style={{ whiteSpace: 'pre-wrap' }}>{firmware.releaseNote}</Table.Td>
                  <Table.Td>{prerequisiteText(firmware, list)}</Table.Td>
                  <Table.Td>{formatDate(firmware.createdAt)}</Table.Td>
                  {canEdit && (
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button
                          size="compact-sm"
                          onClick={() => setWizard({ push: firmware })}
                          aria-label={`Push ${firmware.name} ${firmware.version}`}
                        >
                          Push
                        </Button>
                        <Button size="compact-sm" variant="light" onClick={() => setEditing(firmware)}>
                          Edit
                        </Button>
                        <Button size="compact-sm" variant="light" color="red" onClick={() => setDeleting(firmware)}>
                          Delete
                        </Button>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {wizard !== undefined && <FirmwareWizard pid={pid} pushOnly={wizard.push} onClose={() => setWizard(undefined)} />}
      {editing !== undefined && <EditFirmware firmware={editing} onClose={() => setEditing(undefined)} />}
      {deleting !== undefined && <DeleteFirmware firmware={deleting} onClose={() => setDeleting(undefined)} />}
    </Stack>
  );
}

function EditFirmware({ firmware, onClose }: { firmware: FirmwareBody; onClose: () => void }) {
  const queries = useQueryClient();
  const [name, setName] = useState(firmware.name);
  const [releaseNote, setReleaseNote] = useState(firmware.releaseNote);
  const save = useMutation({
    mutationFn: () => client.editFirmware(firmware.fwId, { name, releaseNote }),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ['firmwares', firmware.prototypeId] });
      onClose();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <Modal opened onClose={onClose} title={`Edit firmware ${firmware.version}`}>
      <form onSubmit={submit}>
        <Stack gap="sm">
          {save.isError && <ErrorText error={save.error} title="Not saved" />}
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Textarea label="Release note" value={releaseNote} onChange={(e) => setReleaseNote(e.currentTarget.value)} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function DeleteFirmware({ firmware, onClose }: { firmware: FirmwareBody; onClose: () => void }) {
  const queries = useQueryClient();
  const remove = useMutation({
    mutationFn: (force: boolean) => client.deleteFirmware(firmware.fwId, force),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ['firmwares', firmware.prototypeId] });
      onClose();
    },
  });
  const refused = remove.error instanceof ApiError && remove.error.status === 409;
  return (
    <Modal opened onClose={onClose} title={`Delete firmware ${firmware.name} ${firmware.version}?`}>
      <Stack gap="sm">
        {remove.isError && <ErrorText error={remove.error} title="Not deleted" />}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button color="red" loading={remove.isPending} onClick={() => remove.mutate(refused)}>
            {refused ? 'Delete anyway' : 'Delete'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** "name, version" of what a device reports, "All, N/A" before any report. */
export function currentlyUses(device: DeviceBody, firmwares: FirmwareBody[]): string {
  if (device.firmware === null) return 'All, N/A';
  const found = firmwares.find((firmware) => firmware.fwId === device.firmware?.fwId);
  return `${found?.name ?? 'deleted firmware'}, ${device.firmware.version}`;
}

/** The fleet at a glance: how many devices are online, and how many run each version, live. */
export function Fleet({ devices }: { devices: DeviceBody[] }) {
  const online = devices.filter((device) => device.presence.online).length;
  const versions = new Map<string, number>();
  for (const device of devices) {
    const version = device.firmware?.version ?? 'N/A';
    versions.set(version, (versions.get(version) ?? 0) + 1);
  }
  return (
    <Paper withBorder p="md" aria-label="Fleet">
      <Stack gap="xs">
        <Text fw={600} data-testid="fleet-online">
          {online} of {devices.length} online
        </Text>
        <Progress value={(100 * online) / devices.length} color="green" aria-label="Devices online" />
        {[...versions].map(([version, count]) => (
          <Group key={version} gap="sm" wrap="nowrap">
            <Text w={90} size="sm">
              {version}
            </Text>
            <Progress value={(100 * count) / devices.length} style={{ flex: 1 }} aria-label={`Devices on ${version}`} />
            <Text size="sm" w={40} ta="right">
              {count}
            </Text>
          </Group>
        ))}
      </Stack>
    </Paper>
  );
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
      {devices.isPending && <Loading what="devices" />}
      {devices.isError && <ErrorText error={devices.error} title="The devices could not be read" />}
      {devices.data?.length === 0 && <Empty>No device yet.</Empty>}
      {devices.data !== undefined && devices.data.length > 0 && <Fleet devices={devices.data} />}
      {devices.data !== undefined && devices.data.length > 0 && (
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
            <Table.Tbody>
              {devices.data.map((device) => (
                <Table.Tr key={device.deviceId} data-device={device.deviceId}>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <LiveDot online={device.presence.online} />
                      <Link to={`/devices/${device.deviceId}`}>{device.name}</Link>
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <code>{device.deviceId}</code>
                  </Table.Td>
                  <Table.Td>{currentlyUses(device, firmwares.data ?? [])}</Table.Td>
                  <Table.Td>{formatDate(device.createdAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
