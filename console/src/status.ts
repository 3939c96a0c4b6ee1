import { pushStatuses, type PushStatus } from '../../src/contract/http-client.js';

/**
 * The one colour of each push status across the console (badges, the push chart, legends): a Mantine
 * palette name per status of the contract's list. Typed by the contract's `PushStatus`, so a status
 * added there fails the typecheck here until it has a colour.
 */
export const statusColors: Readonly<Record<PushStatus, string>> = {
  queued: 'yellow',
  sent: 'blue',
  delivered: 'cyan',
  downloading: 'indigo',
  upgraded: 'green',
  failed: 'red',
  offline: 'gray',
  incompatible: 'orange',
};

/** The colour of a status the API answered, gray for one this console does not know. */
export function statusColor(status: string): string {
  return (statusColors as Record<string, string>)[status] ?? 'gray';
}

/** A palette name as the CSS variable of its shade 6, for SVG fills. */
export const paletteVar = (color: string): string => `var(--mantine-color-${color}-6)`;

export { pushStatuses, type PushStatus };

/** The dot of a device and the fleet chart's presence bar: connected or not. */
export const presenceColors = {
  online: 'var(--mantine-color-green-6)',
  offline: 'var(--mantine-color-gray-5)',
} as const;
