import { clientVariables, configVariables } from './variables.js';

/** Edit distance between two names (insertions, deletions, substitutions), for "did you mean". */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The `FOTA_*` variables of `env` that fota does not know, each with the closest known name when
 * one is near enough to be a typo (at most a third of its letters differ).
 */
export function unknownVariables(env: NodeJS.ProcessEnv): { name: string; closest: string | undefined }[] {
  const known: string[] = [...configVariables.map(([name]) => name), ...clientVariables];
  return Object.keys(env)
    .filter((name) => name.startsWith('FOTA_') && !known.includes(name))
    .sort()
    .map((name) => {
      let closest: string | undefined;
      let best = Math.max(2, Math.floor(name.length / 3)) + 1;
      for (const candidate of known) {
        const distance = editDistance(name, candidate);
        if (distance < best) [closest, best] = [candidate, distance];
      }
      return { name, closest };
    });
}
