import { Alert, Badge, Box, Button, Center, Group, Loader, Modal, Stack, Table, Text, Tooltip } from '@mantine/core';
import { useMutation, useQueryClient, type QueryKey, type UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { errorText } from './api';
import { presenceColors, statusColor } from './status';

/** The green or grey dot of a device: connected or not. */
export function LiveDot({ online }: { online: boolean }) {
  const label = online ? 'online' : 'offline';
  const dot = (
    <Box
      component="span"
      role="img"
      aria-label={label}
      data-online={online}
      style={{
        display: 'inline-block',
        width: 12,
        height: 12,
        borderRadius: '50%',
        flex: 'none',
        background: online ? presenceColors.online : presenceColors.offline,
      }}
    />
  );
  return <Tooltip label={label}>{dot}</Tooltip>;
}

/** A push status as a badge, in its one colour (console/src/status.ts). */
export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={statusColor(status)} variant="light">
      {status}
    </Badge>
  );
}

export function ErrorText({
  error,
  title = 'Something went wrong',
  onRetry,
  retrying = false,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
  retrying?: boolean;
}) {
  return (
    <Alert color="red" title={title} role="alert">
      <Stack gap="xs" align="flex-start">
        <Text size="sm">{errorText(error)}</Text>
        {onRetry !== undefined && (
          <Button size="compact-sm" variant="light" color="red" loading={retrying} onClick={onRetry}>
            Retry
          </Button>
        )}
      </Stack>
    </Alert>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <Center p="lg" role="status">
      <Group gap="xs">
        <Loader size="sm" />
        <Text c="dimmed">Loading {what}…</Text>
      </Group>
    </Center>
  );
}

export function Empty({ children, action }: { children: ReactNode; action?: ReactNode }) {
  return (
    <Stack gap="xs" p="md" align="center" data-empty>
      <Text c="dimmed" ta="center">
        {children}
      </Text>
      {action}
    </Stack>
  );
}

/**
 * The one way a page shows a query: a loader while it is first read, the API's error in words (its
 * message and HTTP status) with a Retry button, an empty state with an optional action, or the data.
 * An error of a later read keeps the data it had under the error.
 */
export function QueryState<T>({
  query,
  what,
  errorTitle = `The ${what} could not be read`,
  isEmpty = (data) => Array.isArray(data) && data.length === 0,
  empty,
  emptyAction,
  children,
}: {
  query: UseQueryResult<T>;
  /** What is read, in words: "devices", "the push". */
  what: string;
  errorTitle?: string;
  isEmpty?: (data: T) => boolean;
  /** The empty state's message; without one an empty answer is given to `children`. */
  empty?: ReactNode;
  emptyAction?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending && !query.isError) return <Loading what={what} />;
  const failure = query.isError ? (
    <ErrorText
      error={query.error}
      title={errorTitle}
      retrying={query.isFetching}
      onRetry={() => void query.refetch()}
    />
  ) : null;
  if (query.data === undefined) return failure;
  const content =
    empty !== undefined && isEmpty(query.data) ? <Empty action={emptyAction}>{empty}</Empty> : children(query.data);
  return (
    <>
      {failure}
      {content}
    </>
  );
}

// One formatter for every date: `toLocaleString` builds a new one per call (slow in a list of 1,000).
// The fields `toLocaleString` shows by default.
const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
  second: '2-digit',
});

export function formatDate(iso: string): string {
  return dateFormat.format(new Date(iso));
}

/**
 * A dialog that asks for something: a form (given `onSubmit`) or a confirmation. The API's refusal
 * of the last try is shown in words (`error`, titled `errorTitle`): above a form's fields, below a
 * confirmation's question. Cancel closes it; `action` is the button, or buttons, that act.
 */
export function Dialog({
  title,
  onClose,
  error,
  errorTitle,
  action,
  onSubmit,
  children,
}: {
  readonly title: string;
  readonly onClose: () => void;
  readonly error: unknown;
  readonly errorTitle: string;
  readonly action: ReactNode;
  readonly onSubmit?: () => void;
  readonly children?: ReactNode;
}) {
  const refusal = error ? <ErrorText error={error} title={errorTitle} /> : null;
  const actions = (
    <Group justify="flex-end">
      <Button variant="default" onClick={onClose}>
        Cancel
      </Button>
      {action}
    </Group>
  );
  return (
    <Modal opened onClose={onClose} title={title}>
      {onSubmit === undefined ? (
        <Stack gap="sm">
          {children}
          {refusal}
          {actions}
        </Stack>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            onSubmit();
          }}
        >
          <Stack gap="sm">
            {refusal}
            {children}
            {actions}
          </Stack>
        </form>
      )}
    </Modal>
  );
}

/** What a dialog needs of a change (`useChange`): its refusal, whether it runs, and how to start it. */
export interface DialogChange {
  readonly error: unknown;
  readonly isPending: boolean;
  mutate(): void;
}

/**
 * A form that makes one change: its button (`submit`: "Create", "Save") sends the form and spins
 * while the change runs; the change's refusal is shown above the fields, titled `errorTitle`. A
 * `disabled` form (nothing to save yet) sends nothing, with Enter either.
 */
export function FormDialog({
  title,
  onClose,
  change,
  submit,
  errorTitle,
  disabled = false,
  children,
}: {
  readonly title: string;
  readonly onClose: () => void;
  readonly change: DialogChange;
  readonly submit: string;
  readonly errorTitle: string;
  readonly disabled?: boolean;
  /** The form's own fields. */
  readonly children: ReactNode;
}) {
  return (
    <Dialog
      title={title}
      onClose={onClose}
      error={change.error}
      errorTitle={errorTitle}
      onSubmit={() => {
        if (!disabled) change.mutate();
      }}
      action={
        <Button type="submit" loading={change.isPending} disabled={disabled}>
          {submit}
        </Button>
      }
    >
      {children}
    </Dialog>
  );
}

/**
 * A question before a change (delete, revoke, rotate): its button (`confirm`, in `color`) starts the
 * change and spins while it runs; the change's refusal is shown below the question.
 */
export function ConfirmDialog({
  title,
  onClose,
  change,
  confirm,
  errorTitle,
  color = 'red',
  children,
}: {
  readonly title: string;
  readonly onClose: () => void;
  readonly change: DialogChange;
  readonly confirm: string;
  readonly errorTitle: string;
  readonly color?: string;
  /** The question's consequences, in words. */
  readonly children?: ReactNode;
}) {
  return (
    <Dialog
      title={title}
      onClose={onClose}
      error={change.error}
      errorTitle={errorTitle}
      action={
        <Button color={color} loading={change.isPending} onClick={() => change.mutate()}>
          {confirm}
        </Button>
      }
    >
      {children}
    </Dialog>
  );
}

/**
 * A change the API makes (create, save, delete): on success the lists it touched (`stale`, query
 * keys) are read again and `onDone` gets the API's answer (typically to close the dialog).
 */
export function useChange<Result, Input = void>(
  change: (input: Input) => Promise<Result>,
  stale: readonly QueryKey[],
  onDone?: (result: Result) => void,
) {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: change,
    onSuccess: (result) => {
      for (const queryKey of stale) void queries.invalidateQueries({ queryKey });
      onDone?.(result);
    },
  });
}

/** A table row's own buttons (Edit, Delete…), on one line. */
export function RowActions({ children }: { readonly children: ReactNode }) {
  return (
    <Group gap="xs" wrap="nowrap">
      {children}
    </Group>
  );
}

/** One of a table row's buttons, small and light; `label` names it with its row ("Delete ada@example.com"). */
export function RowButton({
  label,
  color,
  onClick,
  children,
}: {
  readonly label?: string;
  readonly color?: string;
  readonly onClick: () => void;
  readonly children: ReactNode;
}) {
  return (
    <Button size="compact-sm" variant="light" color={color} aria-label={label} onClick={onClick}>
      {children}
    </Button>
  );
}

/** A list as a table: scrolls sideways below `minWidth`, one header cell per column. */
export function DataTable({
  label,
  columns,
  minWidth,
  highlightOnHover = false,
  children,
}: {
  /** The table's accessible name. */
  readonly label?: string;
  readonly columns: readonly string[];
  readonly minWidth: number;
  readonly highlightOnHover?: boolean;
  /** The rows (`Table.Tr` or plain `<tr>`). */
  readonly children: ReactNode;
}) {
  return (
    <Table.ScrollContainer minWidth={minWidth}>
      <Table striped highlightOnHover={highlightOnHover} aria-label={label}>
        <Table.Thead>
          <Table.Tr>
            {columns.map((column) => (
              <Table.Th key={column}>{column}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>{children}</Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
