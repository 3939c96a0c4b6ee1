import { Badge, Button, Group, Paper, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { PushBody, PushTargetPageBody } from '../../../src/contract/schemas.js';
import { client } from '../api';
import { StackedBar, type Segment } from '../charts';
import { DataTable, formatDate, QueryState, StatusBadge } from '../components';
import { Link } from '../router';
import { paletteVar, pushStatuses, statusColors, type PushStatus } from '../status';

const PAGE = 50;

/** The summary's counts per status as segments of one bar, in the contract's order of statuses. */
export function statusSegments(push: PushBody): Segment[] {
  return pushStatuses.map((name) => ({
    key: name,
    label: name,
    value: push.counts[name] ?? 0,
    color: paletteVar(statusColors[name]),
  }));
}

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
  const choose = (value: PushStatus | undefined) => {
    setStatus(value);
    setCursors([]);
  };
  return (
    <QueryState query={summary} what="push" errorTitle="The push could not be read">
      {(push) => (
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
          <Paper withBorder p="md" component="section" aria-label="Devices per status">
            <Title order={4} mb="xs">
              Devices per status
            </Title>
            <StackedBar title="Devices per status" segments={statusSegments(push)} height={24} />
          </Paper>
          <Group align="flex-end">
            <Select
              label="Status"
              placeholder="every status"
              clearable
              data={pushStatuses.map((name) => ({ value: name, label: name }))}
              value={status ?? null}
              onChange={(value) => choose((value ?? undefined) as PushStatus | undefined)}
            />
          </Group>
          <QueryState
            query={targets}
            what="devices of the push"
            isEmpty={(page) => page.targets.length === 0}
            empty={`No device ${status ? `is ${status}` : 'in this push'}.`}
            emptyAction={
              status !== undefined ? (
                <Button variant="light" onClick={() => choose(undefined)}>
                  Show every status
                </Button>
              ) : undefined
            }
          >
            {(page) => <TargetTable page={page} />}
          </QueryState>
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
      )}
    </QueryState>
  );
}

function TargetTable({ page }: { page: PushTargetPageBody }) {
  return (
    <DataTable label="Devices of the push" minWidth={560} columns={['Device', 'Status', 'Reason', 'Updated']}>
      {page.targets.map((target) => (
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
    </DataTable>
  );
}
