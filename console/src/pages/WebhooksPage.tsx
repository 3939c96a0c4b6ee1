import { Badge, Button, Checkbox, Code, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type {
  WebhookDeliveryBody,
  WebhookSubscriptionBody,
  WebhookSubscriptionCreatedBody,
} from '../../../src/contract/schemas.js';
import { webhookEvents } from '../../../src/contract/http-client.js';
import { client } from '../api';
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
import { SecretOnce } from '../SecretOnce';

const deliveryColors: Record<string, string> = { pending: 'yellow', delivered: 'green', failed: 'red' };

/** Webhook subscriptions (admins only): create one and see its secret once, read the delivery log, redeliver. */
export function WebhooksPage() {
  const hooks = useQuery({ queryKey: ['webhooks'], queryFn: () => client.webhooks() });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<WebhookSubscriptionCreatedBody | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [deleting, setDeleting] = useState<WebhookSubscriptionBody | undefined>();
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Webhooks</Title>
        <Button onClick={() => setCreating(true)}>+ Create webhook</Button>
      </Group>
      <Text c="dimmed" size="sm">
        Each event a webhook asks for is POSTed to its URL, signed with its secret (<Code>Fota-Webhook-Signature</Code>
        ), and retried with back-off until the receiver answers 2xx.
      </Text>
      {hooks.isPending && <Loading what="webhooks" />}
      {hooks.isError && <ErrorText error={hooks.error} title="The webhooks could not be read" />}
      {hooks.data?.length === 0 && <Empty>No webhook yet: create one to tell another system what happens.</Empty>}
      {hooks.data !== undefined && hooks.data.length > 0 && (
        <DataTable
          label="Webhooks"
          minWidth={760}
          highlightOnHover
          columns={['URL', 'Events', 'Enabled', 'Created', 'Actions']}
        >
          {hooks.data.map((hook) => (
            <Table.Tr key={hook.webhookId}>
              <Table.Td style={{ wordBreak: 'break-all' }}>{hook.url}</Table.Td>
              <Table.Td>{hook.events.join(', ')}</Table.Td>
              <Table.Td>{hook.enabled ? 'yes' : 'no'}</Table.Td>
              <Table.Td>{formatDate(hook.createdAt)}</Table.Td>
              <Table.Td>
                <RowActions>
                  <RowButton onClick={() => setSelected(hook.webhookId)}>Deliveries</RowButton>
                  <RowButton label={`Delete ${hook.url}`} color="red" onClick={() => setDeleting(hook)}>
                    Delete
                  </RowButton>
                </RowActions>
              </Table.Td>
            </Table.Tr>
          ))}
        </DataTable>
      )}
      {selected !== undefined && <Deliveries webhookId={selected} />}
      {creating && (
        <CreateWebhook
          onClose={() => setCreating(false)}
          onCreated={(hook) => {
            setCreating(false);
            setCreated(hook);
            setSelected(hook.webhookId);
          }}
        />
      )}
      {created !== undefined && <NewSecret hook={created} onClose={() => setCreated(undefined)} />}
      {deleting !== undefined && (
        <DeleteWebhook
          hook={deleting}
          onClose={() => {
            if (selected === deleting.webhookId) setSelected(undefined);
            setDeleting(undefined);
          }}
        />
      )}
    </Stack>
  );
}

function CreateWebhook({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (hook: WebhookSubscriptionCreatedBody) => void;
}) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<string[]>(['firmware.uploaded']);
  const create = useChange(
    () => client.createWebhook({ url: url.trim(), events, description: description.trim() }),
    [['webhooks']],
    onCreated,
  );
  return (
    <FormDialog title="Create webhook" onClose={onClose} change={create} submit="Create" errorTitle="Not created">
      <TextInput
        label="URL"
        description="http:// or https://; the deliveries are POSTed here"
        required
        maxLength={2000}
        data-autofocus
        value={url}
        onChange={(e) => setUrl(e.currentTarget.value)}
      />
      <TextInput
        label="Description"
        maxLength={2000}
        value={description}
        onChange={(e) => setDescription(e.currentTarget.value)}
      />
      <Checkbox.Group label="Events" value={events} onChange={setEvents}>
        <Stack gap={4} mt={4}>
          {webhookEvents.map((event) => (
            <Checkbox key={event} value={event} label={event} />
          ))}
        </Stack>
      </Checkbox.Group>
    </FormDialog>
  );
}

/** The secret, shown this once: the receiver checks each signature with it. */
function NewSecret({ hook, onClose }: { hook: WebhookSubscriptionCreatedBody; onClose: () => void }) {
  return (
    <SecretOnce title="Webhook created" what="secret" label="Webhook secret" secret={hook.secret} onDone={onClose}>
      The receiver checks every delivery&apos;s signature with it. If you lose it, rotate it.
    </SecretOnce>
  );
}

/** The delivery log of one webhook: newest first, every attempt, Redeliver and a test ping. */
function Deliveries({ webhookId }: { webhookId: string }) {
  const key = ['webhooks', webhookId, 'deliveries'];
  const log = useQuery({
    queryKey: key,
    queryFn: () => client.webhookDeliveries(webhookId, { limit: 50 }),
    refetchInterval: 3000,
  });
  const redeliver = useChange((deliveryId: string) => client.redeliverWebhook(webhookId, deliveryId), [key]);
  const ping = useChange(() => client.pingWebhook(webhookId), [key]);
  return (
    <Stack gap="sm" aria-label="Delivery log">
      <Group justify="space-between">
        <Title order={3}>Deliveries</Title>
        <Button variant="light" loading={ping.isPending} onClick={() => ping.mutate()}>
          Send test ping
        </Button>
      </Group>
      {ping.error && <ErrorText error={ping.error} title="No ping queued" />}
      {redeliver.error && <ErrorText error={redeliver.error} title="Not redelivered" />}
      {log.isPending && <Loading what="deliveries" />}
      {log.isError && <ErrorText error={log.error} title="The deliveries could not be read" />}
      {log.data?.deliveries.length === 0 && <Empty>No delivery yet.</Empty>}
      {log.data?.deliveries.map((delivery) => (
        <Delivery
          key={delivery.deliveryId}
          delivery={delivery}
          redelivering={redeliver.isPending && redeliver.variables === delivery.deliveryId}
          onRedeliver={() => redeliver.mutate(delivery.deliveryId)}
        />
      ))}
    </Stack>
  );
}

function Delivery({
  delivery,
  redelivering,
  onRedeliver,
}: {
  delivery: WebhookDeliveryBody;
  redelivering: boolean;
  onRedeliver: () => void;
}) {
  return (
    <Stack gap={4}>
      <Group justify="space-between">
        <Group gap="xs">
          <Badge color={deliveryColors[delivery.status] ?? 'gray'} variant="light">
            {delivery.status}
          </Badge>
          <Text fw={500}>{delivery.event}</Text>
          <Text size="sm" c="dimmed">
            {delivery.deliveryId} · {formatDate(delivery.createdAt)}
            {delivery.nextAttemptAt !== null ? ` · next try ${formatDate(delivery.nextAttemptAt)}` : ''}
          </Text>
        </Group>
        <Button
          size="compact-sm"
          variant="light"
          loading={redelivering}
          aria-label={`Redeliver ${delivery.deliveryId}`}
          onClick={onRedeliver}
        >
          Redeliver
        </Button>
      </Group>
      {delivery.attempts.length > 0 && (
        <Table aria-label={`Attempts of ${delivery.deliveryId}`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>#</Table.Th>
              <Table.Th>At</Table.Th>
              <Table.Th>Took</Table.Th>
              <Table.Th>Answer</Table.Th>
              <Table.Th>Body</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {delivery.attempts.map((attempt) => (
              <Table.Tr key={attempt.attempt}>
                <Table.Td>{attempt.attempt}</Table.Td>
                <Table.Td>{formatDate(attempt.at)}</Table.Td>
                <Table.Td>{attempt.durationMs} ms</Table.Td>
                <Table.Td>
                  {attempt.httpStatus !== null ? `HTTP ${attempt.httpStatus}` : ''}
                  {attempt.error !== null ? ` ${attempt.error}` : ''}
                </Table.Td>
                <Table.Td style={{ wordBreak: 'break-all' }}>{attempt.responseExcerpt ?? ''}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function DeleteWebhook({ hook, onClose }: { hook: WebhookSubscriptionBody; onClose: () => void }) {
  const remove = useChange(() => client.deleteWebhook(hook.webhookId), [['webhooks']], onClose);
  return (
    <ConfirmDialog
      title="Delete this webhook?"
      onClose={onClose}
      change={remove}
      confirm="Delete"
      errorTitle="Not deleted"
    >
      <Text>{hook.url} gets nothing more; its deliveries, pending ones included, are deleted with it.</Text>
    </ConfirmDialog>
  );
}
