import { Alert, Badge, Button, Code, CopyButton, Group, Paper, Stack, Table, Text, Title } from '@mantine/core';
import type { DeviceBody } from '../../../src/contract/schemas.js';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { client } from '../api';
import { useSigned } from '../App';
import { ConfirmDialog, DataTable, ErrorText, formatDate, LiveDot, QueryState, StatusBadge } from '../components';
import { Link } from '../router';
import { currentlyUses } from './PrototypePage';

function Copyable({ label, value }: { label: string; value: string }) {
  return (
    <Group gap="xs" wrap="nowrap">
      <Text fw={500} w={90}>
        {label}
      </Text>
      <Code>{value}</Code>
      <CopyButton value={value}>
        {({ copied, copy }) => (
          <Button size="compact-xs" variant="light" onClick={copy} aria-label={`Copy ${label}`}>
            {copied ? 'Copied' : 'Copy'}
          </Button>
        )}
      </CopyButton>
    </Group>
  );
}

export function DevicePage({ deviceId }: { deviceId: string }) {
  const { canEdit } = useSigned();
  const queries = useQueryClient();
  const device = useQuery({ queryKey: ['device', deviceId], queryFn: () => client.device(deviceId) });
  const pid = device.data?.prototypeId;
  const firmwares = useQuery({
    queryKey: ['firmwares', pid],
    queryFn: () => client.firmwares(pid!),
    enabled: pid !== undefined,
  });
  const pushes = useQuery({ queryKey: ['device-pushes', deviceId], queryFn: () => client.devicePushes(deviceId) });
  const [rotating, setRotating] = useState(false);
  const [pushed, setPushed] = useState<string | undefined>();
  const push = useMutation({
    mutationFn: (fwId: string) => client.push(fwId, { deviceIds: [deviceId] }),
    onSuccess: (summary) => {
      setPushed(summary.pushId);
      void queries.invalidateQueries({ queryKey: ['device-pushes', deviceId] });
    },
  });
  const rotate = useMutation({
    mutationFn: () => client.rotateKey(deviceId),
    onSuccess: (rotated) => {
      queries.setQueryData(['device', deviceId], rotated);
      setRotating(false);
    },
  });
  return (
    <QueryState query={device} what="device" errorTitle="The device could not be read">
      {(found) => page(found)}
    </QueryState>
  );
  function page(found: DeviceBody) {
    const online = found.presence.online;
    const key = found.deviceKey;
    return (
      <Stack>
        <Text size="sm">
          <Link to="/">Prototypes</Link> / <Link to={`/prototypes/${found.prototypeId}/devices`}>prototype</Link> /{' '}
          {found.name}
        </Text>
        <Group gap="sm">
          <LiveDot online={online} />
          <Title order={2}>{found.name}</Title>
          <Badge variant="light" color={online ? 'green' : 'gray'}>
            {online ? `online${found.presence.protocol ? ` (${found.presence.protocol})` : ''}` : 'offline'}
          </Badge>
        </Group>
        <Paper withBorder p="md">
          <Stack gap="xs">
            <Copyable label="deviceId" value={found.deviceId} />
            {key !== null && <Copyable label="deviceKey" value={key} />}
            {canEdit && (
              <Group>
                <Button size="compact-sm" variant="light" color="orange" onClick={() => setRotating(true)}>
                  Rotate key
                </Button>
              </Group>
            )}
            <Text>
              Currently use: <b>{currentlyUses(found, firmwares.data ?? [])}</b>
            </Text>
          </Stack>
        </Paper>
        {pushed !== undefined && (
          <Alert color="green" title="Pushed" role="status" withCloseButton onClose={() => setPushed(undefined)}>
            You have pushed the firmware to device successfully. <Link to={`/pushes/${pushed}`}>Follow the push</Link>
          </Alert>
        )}
        {push.isError && <ErrorText error={push.error} title="Not pushed" />}
        <Title order={3}>Firmware</Title>
        <QueryState query={firmwares} what="firmware" empty="The prototype has no firmware.">
          {(list) => (
            <DataTable
              label="Firmware"
              minWidth={480}
              columns={['Name', 'Version', 'Release date', ...(canEdit ? ['Push'] : [])]}
            >
              {list.map((firmware) => (
                <Table.Tr key={firmware.fwId}>
                  <Table.Td>{firmware.name}</Table.Td>
                  <Table.Td>{firmware.version}</Table.Td>
                  <Table.Td>{formatDate(firmware.createdAt)}</Table.Td>
                  {canEdit && (
                    <Table.Td>
                      <Button
                        size="compact-sm"
                        disabled={!online}
                        title={online ? undefined : 'the device is offline'}
                        loading={push.isPending && push.variables === firmware.fwId}
                        onClick={() => push.mutate(firmware.fwId)}
                        aria-label={`Push ${firmware.version}`}
                      >
                        Push
                      </Button>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </DataTable>
          )}
        </QueryState>
        <Title order={3}>Push history</Title>
        <QueryState query={pushes} what="push history" empty="Nothing was pushed to this device yet.">
          {(history) => (
            <DataTable label="Push history" minWidth={560} columns={['Pushed', 'Version', 'Status', 'Reason']}>
              {history.map((entry) => (
                <Table.Tr key={entry.pushId} data-status={entry.target.status}>
                  <Table.Td>
                    <Link to={`/pushes/${entry.pushId}`}>{formatDate(entry.createdAt)}</Link>
                  </Table.Td>
                  <Table.Td>{entry.version}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={entry.target.status} />
                  </Table.Td>
                  <Table.Td>{entry.target.reason ?? ''}</Table.Td>
                </Table.Tr>
              ))}
            </DataTable>
          )}
        </QueryState>
        {rotating && (
          <ConfirmDialog
            title="Rotate the device key?"
            onClose={() => setRotating(false)}
            change={rotate}
            confirm="Rotate key"
            errorTitle="The key was not rotated"
            color="orange"
          >
            <Alert color="orange" title="Warning">
              The device is disconnected at once and cannot connect again until its firmware holds the new key.
            </Alert>
          </ConfirmDialog>
        )}
      </Stack>
    );
  }
}
