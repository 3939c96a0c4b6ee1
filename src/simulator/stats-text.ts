import type { SimulationStats } from './simulation.js';

/**
 * One line for a live view:
 * `connected tcp 2/2 mqtt 2/2 | FOTA 4 | downloading 0 | upgraded 3 | failed 1 | reconnects 0`.
 */
export function statsLine(stats: SimulationStats): string {
  const protocols = (['tcp', 'mqtt'] as const)
    .filter((protocol) => stats.devices[protocol] > 0)
    .map((protocol) => `${protocol} ${stats.connected[protocol]}/${stats.devices[protocol]}`);
  return [
    `connected ${protocols.join(' ') || '-'}`,
    `FOTA ${stats.fotaReceived}`,
    `downloading ${stats.downloading}`,
    `upgraded ${stats.upgraded}`,
    `failed ${stats.failed}`,
    `reconnects ${stats.disconnects}`,
  ].join(' | ');
}

/** `2.0 ×3, 1.0 ×1`: how many devices run each version, most common first. */
export function versionsText(versions: Readonly<Record<string, number>>): string {
  const entries = Object.entries(versions).sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b));
  return entries.length === 0 ? '-' : entries.map(([version, count]) => `${version} ×${count}`).join(', ');
}
