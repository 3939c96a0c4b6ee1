/** Why dist/ cannot be trusted ('missing' or 'stale'), or undefined when it matches src/. */
export function buildState(): 'missing' | 'stale' | undefined;
/** Compiles src/ into dist/; with `ifStale`, only when a source changed after the last build. */
export function build(options?: { ifStale?: boolean }): void;
