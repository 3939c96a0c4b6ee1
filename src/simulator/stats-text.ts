import type { SimulationStats } from './simulation.js';

/** Reasons shown in the live line are cut to this many characters: the full text is logged once. */
const MAX_REASON_CHARS = 60;

/**
 * One line for a live view:
 * `connected tcp 2/2 mqtt 2/2 | FOTA 4 | downloading 0 | upgraded 3 | failed 1 | reconnects 0`;
 * after `reconnects`, the most frequent reason connections failed, once there is one:
 * `reconnects 70 (mqtt: connect ECONNREFUSED 127.0.0.1:1883)`.
 */
export function statsLine(stats: SimulationStats): string {
  const top = stats.connectionProblems[0];
  const reason =
    top === undefined
      ? ''
      : ` (${top.protocol}: ${top.reason.length > MAX_REASON_CHARS ? `${top.reason.slice(0, MAX_REASON_CHARS - 1)}…` : top.reason})`;
  const protocols = (['tcp', 'mqtt'] as const)
    .filter((protocol) => stats.devices[protocol] > 0)
    .map((protocol) => `${protocol} ${stats.connected[protocol]}/${stats.devices[protocol]}`);
  return [
    `connected ${protocols.join(' ') || '-'}`,
    `FOTA ${stats.fotaReceived}`,
    `downloading ${stats.downloading}`,
    `upgraded ${stats.upgraded}`,
    `failed ${stats.failed}`,
    `reconnects ${stats.disconnects}${reason}`,
  ].join(' | ');
}

/** `2.0 ×3, 1.0 ×1`: how many devices run each version, most common first. */
export function versionsText(versions: Readonly<Record<string, number>>): string {
  const entries = Object.entries(versions).sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b));
  return entries.length === 0 ? '-' : entries.map(([version, count]) => `${version} ×${count}`).join(', ');
}
