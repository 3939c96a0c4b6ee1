/**
 * Summarises a V8 .cpuprofile (as bench/push/cpu-profile-preload.mjs writes it): the functions with
 * the most self time, and self time by package (node_modules/<package>, src/<folder>, node:<module>).
 * Usage: npx tsx bench/push/profile-summary.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { table } from '../lib/report.js';

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Where a function lives: a package, a folder of fota's src/, a Node module, or V8 itself. */
function owner(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) {
    const parts = url.slice(src + 1).split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts.join('/');
  }
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

function place(node: ProfileNode): string {
  const { url, lineNumber } = node.callFrame;
  if (url === '') return '';
  const short = url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*?\/(src|bench)\//, '$1/');
  return `${short}:${lineNumber + 1}`;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly wallMs: number;
  readonly functions: readonly { name: string; place: string; owner: string; ms: number }[];
  readonly owners: readonly { owner: string; ms: number }[];
  /** The same, with the time of native functions (a write, a SQLite step) counted in the JavaScript that called them. */
  readonly callers: readonly { owner: string; ms: number }[];
  /** fota's own functions (src/) by inclusive time: the samples with the function on the stack. */
  readonly inclusive: readonly { name: string; place: string; ms: number }[];
}

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const caller = (id: number): string => {
    let node = byId.get(id);
    while (node && node.callFrame.url === '') {
      const up = parent.get(node.id);
      node = up === undefined ? undefined : byId.get(up);
    }
    return node ? owner(node.callFrame.url, node.callFrame.functionName) : '(native)';
  };
  const self = new Map<number, number>();
  // Sample i lasts until sample i + 1 (timeDeltas[i + 1] microseconds).
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + us);
  }
  const functions = new Map<string, { name: string; place: string; owner: string; ms: number }>();
  const owners = new Map<string, number>();
  const callers = new Map<string, number>();
  let totalMs = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') continue;
    const ms = us / 1000;
    totalMs += ms;
    const key = `${name} ${place(node)}`;
    const entry = functions.get(key) ?? { name, place: place(node), owner: owner(node.callFrame.url, name), ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
    owners.set(entry.owner, (owners.get(entry.owner) ?? 0) + ms);
    const by = entry.owner === '(native)' ? caller(id) : entry.owner;
    callers.set(by, (callers.get(by) ?? 0) + ms);
  }
  const inclusive = new Map<string, { name: string; place: string; ms: number }>();
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id)!;
      if (node.callFrame.functionName === '(idle)') break;
      if (!node.callFrame.url.includes('/src/')) continue;
      const name = node.callFrame.functionName || '(anonymous)';
      const key = `${name} ${place(node)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = inclusive.get(key) ?? { name, place: place(node), ms: 0 };
      entry.ms += us / 1000;
      inclusive.set(key, entry);
    }
  }
  const sorted = (map: Map<string, number>) =>
    [...map.entries()].map(([owner, ms]) => ({ owner, ms })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs,
    wallMs: (profile.endTime - profile.startTime) / 1000,
    functions: [...functions.values()].sort((a, b) => b.ms - a.ms),
    owners: sorted(owners),
    callers: sorted(callers),
    inclusive: [...inclusive.values()].sort((a, b) => b.ms - a.ms),
  };
}

const share = (ms: number, total: number): string => `${((100 * ms) / Math.max(total, 1e-9)).toFixed(1)} %`;

/** Markdown: the busy time, then the top functions and owners by self time. */
export function profileText(file: string, top = 15): string {
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const { totalMs } = summary;
  return [
    `Busy ${totalMs.toFixed(0)} ms of ${summary.wallMs.toFixed(0)} ms profiled (idle left out).`,
    '',
    table(
      ['self time by owner', 'ms', 'share'],
      summary.owners.slice(0, top).map((entry) => [entry.owner, entry.ms.toFixed(0), share(entry.ms, totalMs)]),
    ),
    '',
    table(
      ['self time, natives in their caller', 'ms', 'share'],
      summary.callers.slice(0, top).map((entry) => [entry.owner, entry.ms.toFixed(0), share(entry.ms, totalMs)]),
    ),
    '',
    table(
      ["fota's functions (inclusive time)", 'where', 'ms', 'share'],
      summary.inclusive
        .slice(0, top)
        .map((entry) => [entry.name, entry.place, entry.ms.toFixed(0), share(entry.ms, totalMs)]),
    ),
    '',
    table(
      ['function (self time)', 'where', 'ms', 'share'],
      summary.functions
        .slice(0, top)
        .map((entry) => [entry.name, entry.place || entry.owner, entry.ms.toFixed(0), share(entry.ms, totalMs)]),
    ),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, topText] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: tsx bench/push/profile-summary.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  console.log(profileText(file, topText === undefined ? 15 : Number(topText)));
}
