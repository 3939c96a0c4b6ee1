import { Badge, Button, Group, Paper, Progress, Select, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { pushStatuses, type PushStatus } from '../../../src/contract/http-client.js';
import { client } from '../api';
import { Empty, ErrorText, formatDate, Loading } from '../components';
import { Link } from '../router';
import { StatusBadge, statusColors } from './DevicePage';

const PAGE = 50;

export function PushPage({ pushId }: { pushId: string }) {
  const summary = useQuery({ queryKey: ['push', pushId], queryFn: () => client.pushSummary(pushId) });
  const [status, setStatus] = useState<PushStatus | undefined>();
  // The cursors of the pages before this one: the API pages forward only.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const targets = useQuery({
    queryKey: ['push-targets', pushId, status, cursor],
    queryFn: () => client.pushTargets(pushId, { status, cursor, limit: PAGE }),
  });
  if (summary.isPending) return <Loading what="the push" />;
  if (summary.isError) return <ErrorText error={summary.error} title="The push could not be read" />;
  const push = summary.data;
  return (
    <Stack>
      <Text size="sm">
        <Link to="/">Prototypes</Link> / <Link to={`/prototypes/${push.prototypeId}`}>prototype</Link> / push
      </Text>
      <Group gap="sm">
        <Title order={2}>Push of version {push.version}</Title>
        <Badge data-testid="push-status" color={push.status === 'finished' ? 'green' : 'blue'}>
          {push.status.replace('_', ' ')}
        </Badge>
      </Group>
      <Text c="dimmed">
        {push.total} device{push.total === 1 ? '' : 's'} · by {push.createdBy} · {formatDate(push.createdAt)}
        {push.queueOffline ? ' · delivered when online' : ''}
        {push.force ? ' · forced' : ''}
      </Text>
      <Paper withBorder p="md">
        <Progress.Root size="xl" aria-label="Targets per status">
          {pushStatuses.map((name) =>
            (push.counts[name] ?? 0) > 0 ? (
              <Progress.Section
                key={name}
                value={(100 * (push.counts[name] ?? 0)) / Math.max(push.total, 1)}
                color={statusColors[name] ?? 'gray'}
              >
                <Progress.Label>{name}</Progress.Label>
              </Progress.Section>
            ) : null,
          )}
        </Progress.Root>
        <SimpleGrid cols={{ base: 2, sm: 4 }} mt="md">
          {pushStatuses.map((name) => (
            <Group key={name} gap="xs" data-count={name}>
              <StatusBadge status={name} />
              <Text fw={600}>{push.counts[name] ?? 0}</Text>
            </Group>
          ))}
        </SimpleGrid>
      </Paper>
      <Group align="flex-end">
        <Select
          label="Status"
          placeholder="every status"
          clearable
          data={pushStatuses.map((name) => ({ value: name, label: name }))}
          value={status ?? null}
          onChange={(value) => {
            setStatus((value ?? undefined) as PushStatus | undefined);
            setCursors([]);
          }}
        />
      </Group>
      {targets.isPending && <Loading what="devices" />}
      {targets.isError && <ErrorText error={targets.error} title="The devices of the push could not be read" />}
      {targets.data?.targets.length === 0 && <Empty>No device {status ? `is ${status}` : 'in this push'}.</Empty>}
      {targets.data !== undefined && targets.data.targets.length > 0 && (
        <Table.ScrollContainer minWidth={560}>
          <Table striped aria-label="Devices of the push">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Device</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Reason</Table.Th>
                <Table.Th>Updated</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {targets.data.targets.map((target) => (
                <Table.Tr key={target.deviceId} data-status={target.status}>
                  <Table.Td>
                    <Link to={`/devices/${target.deviceId}`}>{target.deviceId}</Link>
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={target.status} />
                  </Table.Td>
                  <Table.Td>{target.reason ?? ''}</Table.Td>
                  <Table.Td>{formatDate(target.updatedAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Group>
        <Button
          variant="default"
          disabled={cursors.length === 0}
          onClick={() => setCursors((list) => list.slice(0, -1))}
        >
          Previous page
        </Button>
        <Button
          variant="default"
          disabled={!targets.data?.nextCursor}
          onClick={() => {
            const next = targets.data?.nextCursor;
            if (next) setCursors((list) => [...list, next]);
          }}
        >
          Next page
        </Button>
      </Group>
    </Stack>
  );
}
