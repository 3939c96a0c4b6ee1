import { Group } from '@mantine/core';
import { useSigned } from './App';
import { Link } from './router';

/** The header's links to the account pages: API tokens for everyone, Users, Webhooks and the audit log for admins only. */
export function AccountLinks() {
  const { role } = useSigned();
  return (
    <Group component="nav" aria-label="Account" gap="sm" wrap="nowrap">
      {role === 'admin' && <Link to="/users">Users</Link>}
      {role === 'admin' && <Link to="/webhooks">Webhooks</Link>}
      {role === 'admin' && <Link to="/audit">Audit</Link>}
      <Link to="/tokens">Tokens</Link>
    </Group>
  );
}
