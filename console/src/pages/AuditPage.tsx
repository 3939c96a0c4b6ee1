import { Anchor, Badge, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { AuditEntryBody, AuditFiltersBody } from '../../../src/contract/schemas.js';
import { client } from '../api';
import { useSigned } from '../App';
import { DataTable, ErrorText, formatDate, QueryState } from '../components';

const actorText = (entry: AuditEntryBody): string => {
  const { actor } = entry;
  if (actor.type === 'anonymous') return 'anonymous';
  const who = actor.name ?? actor.userId ?? actor.type;
  return actor.type === 'token' ? `${who} · token ${actor.tokenName ?? actor.tokenId}` : who;
};

/** A local date-time field's value as the API's ISO time; undefined when empty or not a time. */
function isoOf(text: string): string | undefined {
  if (text === '') return undefined;
  const time = new Date(text);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

/** The audit log, for admins: who did what, when and from where, filtered, with its export. */
export function AuditPage() {
  const { role, via } = useSigned();
  const [form, setForm] = useState({ actor: '', kind: '', since: '', until: '' });
  const [filters, setFilters] = useState<AuditFiltersBody>({});
  const log = useInfiniteQuery({
    queryKey: ['audit', filters],
    queryFn: ({ pageParam }) => client.audit({ ...filters, limit: 100, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    enabled: role === 'admin',
  });
  if (role !== 'admin') {
    return <ErrorText title="Admins only" error={new Error('the audit log is for admins')} />;
  }
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next: AuditFiltersBody = {};
    if (form.actor.trim()) next.actor = form.actor.trim();
    if (form.kind.trim()) next.kind = form.kind.trim();
    const since = isoOf(form.since);
    const until = isoOf(form.until);
    if (since) next.since = since;
    if (until) next.until = until;
    setFilters(next);
  };
  const field = (name: keyof typeof form) => ({
    value: form[name],
    onChange: (event: { currentTarget: { value: string } }) => setForm({ ...form, [name]: event.currentTarget.value }),
  });
  // With a session, the browser downloads the export itself (streamed); the admin token of a tab
  // travels in a header, which a link cannot carry, so its export is fetched first.
  const exportLink = (format: 'csv' | 'json') =>
    via === 'session' ? (
      <Anchor key={format} href={client.auditExportUrl(format, filters)} download>
        Export {format.toUpperCase()}
      </Anchor>
    ) : (
      <Button key={format} variant="subtle" size="compact-sm" onClick={() => void download(format, filters)}>
        Export {format.toUpperCase()}
      </Button>
    );
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Audit log</Title>
        <Group gap="md">{(['csv', 'json'] as const).map(exportLink)}</Group>
      </Group>
      <Text c="dimmed" size="sm">
        Every change made through the API or this console, sign-ins and refused attempts included: who, when, from which
        address, what, and how it ended. Newest first.
      </Text>
      <form onSubmit={apply} aria-label="Audit filters">
        <Group align="end">
          <TextInput label="Actor" placeholder="ada@example.com, admin, a token id" {...field('actor')} />
          <TextInput label="Kind" placeholder="push.create" {...field('kind')} />
          <TextInput label="Since" type="datetime-local" {...field('since')} />
          <TextInput label="Until" type="datetime-local" {...field('until')} />
          <Button type="submit">Filter</Button>
        </Group>
      </form>
      <QueryState
        query={log}
        what="audit log"
        isEmpty={(data) => data.pages.every((page) => page.entries.length === 0)}
        empty="No entries match."
      >
        {(data) => (
          <>
            <DataTable
              label="Audit log"
              minWidth={900}
              highlightOnHover
              columns={['Time', 'Actor', 'Address', 'Kind', 'Target', 'Result']}
            >
              {data.pages
                .flatMap((page) => page.entries)
                .map((entry) => (
                  <Table.Tr key={entry.id}>
                    <Table.Td>{formatDate(entry.at)}</Table.Td>
                    <Table.Td>{actorText(entry)}</Table.Td>
                    <Table.Td>{entry.address}</Table.Td>
                    <Table.Td>{entry.kind}</Table.Td>
                    <Table.Td>{entry.target ? `${entry.target.type} ${entry.target.id}` : ''}</Table.Td>
                    <Table.Td>
                      <Badge color={entry.result.outcome === 'success' ? 'green' : 'red'} variant="light">
                        {entry.result.outcome === 'success'
                          ? entry.result.status
                          : `${entry.result.status} ${entry.result.code ?? ''}`}
                      </Badge>
                    </Table.Td>
                  </Table.Tr>
                ))}
            </DataTable>
            {log.hasNextPage && (
              <Button variant="default" loading={log.isFetchingNextPage} onClick={() => void log.fetchNextPage()}>
                Older entries
              </Button>
            )}
          </>
        )}
      </QueryState>
    </Stack>
  );
}

/** Fetches the export with the tab's token and hands it to the browser as a file. */
async function download(format: 'csv' | 'json', filters: AuditFiltersBody): Promise<void> {
  const response = await client.openAuditExport(format, filters);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = `fota-audit.${format}`;
  link.click();
  URL.revokeObjectURL(url);
}
