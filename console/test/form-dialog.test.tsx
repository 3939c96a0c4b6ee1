import { TextInput } from '@mantine/core';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { FormDialog, useChange } from '../src/components';
import { renderConsole } from './harness';

/** A form whose change is refused the first time and done the second; "Save" is disabled while the name is empty. */
function NameForm({ sent }: { sent: string[] }) {
  const [open, setOpen] = useState(true);
  const [name, setName] = useState('');
  const save = useChange(
    async () => {
      sent.push(name);
      if (sent.length === 1) throw new Error('the name is taken');
    },
    [],
    () => setOpen(false),
  );
  if (!open) return <p>Saved</p>;
  return (
    <FormDialog
      title="Name it"
      onClose={() => setOpen(false)}
      change={save}
      submit="Save"
      errorTitle="Not saved"
      disabled={name === ''}
    >
      <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
    </FormDialog>
  );
}

describe('FormDialog', () => {
  it('sends nothing while disabled, shows the refusal above the fields, and closes when the change is done', async () => {
    const sent: string[] = [];
    renderConsole(<NameForm sent={sent} />);
    const dialog = await screen.findByRole('dialog', { name: 'Name it' });
    const save = within(dialog).getByRole('button', { name: 'Save' });
    expect((save as HTMLButtonElement).disabled).toBe(true);
    // Enter in the field submits the form even with its button disabled: nothing is sent.
    fireEvent.submit(within(dialog).getByLabelText('Name'));
    expect(sent).toEqual([]);

    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'kitchen' } });
    fireEvent.click(save);
    const refusal = await within(dialog).findByRole('alert');
    expect(refusal.textContent).toContain('Not saved');
    expect(refusal.textContent).toContain('the name is taken');
    // Above the fields.
    expect(refusal.compareDocumentPosition(within(dialog).getByLabelText('Name'))).toBe(
      Node.DOCUMENT_POSITION_FOLLOWING,
    );

    fireEvent.click(save);
    await screen.findByText('Saved');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(sent).toEqual(['kitchen', 'kitchen']);
  });
});
