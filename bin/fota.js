#!/usr/bin/env node
// The `fota` command. Runs the JavaScript that `npm run build` compiled into dist/ (`npm ci` and
// `npm install` build it through `prepare`).
import { buildState } from '../scripts/build.mjs';

const state = buildState();
if (state === 'missing') {
  process.stderr.write('fota: not built yet: run `npm run build` in the fota folder (`npm ci` also builds)\n');
  process.exit(1);
}
if (state === 'stale') {
  process.stderr.write(
    'fota: warning: src/ changed after the last build; run `npm run build` (running the old build)\n',
  );
}
// Stack traces name the TypeScript sources (dist/ has source maps).
process.setSourceMapsEnabled(true);
await import('../dist/cli/main.js');
