import { Alert, Button, Group, Modal, Stack, Text, Textarea } from '@mantine/core';
import { useRef, useState, type ReactNode } from 'react';

type Copy = 'not yet' | 'copied' | 'refused';

/**
 * A secret the server shows only this once (an API token, a webhook's signing secret): the secret in
 * a read-only monospace field that has the focus, its text selected (Ctrl+C copies it at once), a Copy
 * button that says when it is done, the warning to store it now, and Done, which closes it. Copy
 * uses the browser's clipboard; where the browser refuses it (plain http:// on another host than
 * localhost, a denied permission) the secret is selected and the user is told to press Ctrl+C.
 */
export function SecretOnce({
  title,
  what,
  label,
  secret,
  onDone,
  children,
}: {
  /** The dialog's title, which names it: "Webhook created". */
  readonly title: string;
  /** The secret in a word, for the warning and the Copy button: "token", "secret". */
  readonly what: string;
  /** The field's label: "New token". */
  readonly label: string;
  readonly secret: string;
  readonly onDone: () => void;
  /** Why it cannot be shown again and what to do if it is lost. */
  readonly children: ReactNode;
}) {
  const field = useRef<HTMLTextAreaElement>(null);
  const [copy, setCopy] = useState<Copy>('not yet');
  const selectSecret = () => {
    field.current?.focus();
    field.current?.select();
  };
  const copySecret = async () => {
    try {
      // Undefined outside a secure context: the TypeError it throws is a refusal like any other.
      await navigator.clipboard.writeText(secret);
      setCopy('copied');
    } catch {
      selectSecret();
      setCopy('refused');
    }
  };
  return (
    <Modal opened onClose={onDone} title={title} closeOnClickOutside={false} size="lg">
      <Stack gap="sm">
        <Alert color="yellow" title={`Copy the ${what} now: it is shown only this once`} role="alert">
          {children}
        </Alert>
        <Textarea
          label={label}
          value={secret}
          readOnly
          autosize
          minRows={1}
          spellCheck={false}
          autoComplete="off"
          data-autofocus
          ref={field}
          onFocus={(event) => event.currentTarget.select()}
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', wordBreak: 'break-all' } }}
        />
        <Text size="sm" role="status" c={copy === 'refused' ? 'orange' : 'dimmed'}>
          {copy === 'copied' && 'Copied to the clipboard.'}
          {copy === 'refused' &&
            'The browser refused the clipboard: the secret is selected, press Ctrl+C (⌘C on a Mac).'}
        </Text>
        <Group justify="flex-end">
          <Button variant="light" onClick={() => void copySecret()} aria-label={`Copy the ${what}`}>
            {copy === 'copied' ? 'Copied' : 'Copy'}
          </Button>
          <Button onClick={onDone}>Done</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
