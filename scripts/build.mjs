#!/usr/bin/env node
// `npm run build` (also run by `npm ci` and `npm install`, through `prepare`): compiles src/ to
// dist/ once, so `fota` runs JavaScript and starts fast. `--if-stale` builds only when a source
// changed after the last build; tests and benchmarks use it so they never run an old build. The web
// console (console/, React and Vite) is bundled into dist/console/, which `fota serve` serves at `/`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = join(root, 'dist', '.built');
const consoleTests = join(root, 'console', 'test');
const inputs = ['src', 'console', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** Modification time of the newest build input, in milliseconds. */
function newestInput() {
  let newest = 0;
  for (const input of inputs) {
    const path = join(root, input);
    if (!existsSync(path)) continue;
    const stats = statSync(path);
    newest = Math.max(newest, stats.mtimeMs);
    if (!stats.isDirectory()) continue;
    for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
      // The console's tests are not part of what it builds.
      const file = join(entry.parentPath, entry.name);
      if (file.startsWith(consoleTests)) continue;
      newest = Math.max(newest, statSync(file).mtimeMs);
    }
  }
  return newest;
}

/** Why dist/ cannot be trusted ('missing' or 'stale'), or undefined when it matches src/. */
export function buildState() {
  if (!existsSync(stampFile)) return 'missing';
  return newestInput() > statSync(stampFile).mtimeMs ? 'stale' : undefined;
}

/** Compiles src/ into a fresh folder, then swaps it in place of dist/. */
export function build({ ifStale = false } = {}) {
  if (ifStale && buildState() === undefined) return;
  const started = Date.now();
  const fresh = join(root, `dist.building-${process.pid}`);
  const old = join(root, `dist.old-${process.pid}`);
  rmSync(fresh, { recursive: true, force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', fresh], {
    stdio: 'inherit',
  });
  if (run.status !== 0) {
    rmSync(fresh, { recursive: true, force: true });
    throw new Error(`the build failed: tsc exited with ${run.status ?? run.signal}`);
  }
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const bundle = spawnSync(
    process.execPath,
    [
      vite,
      'build',
      '--config',
      join(root, 'console', 'vite.config.ts'),
      '--outDir',
      join(fresh, 'console'),
      '--logLevel',
      'warn',
    ],
    // A production bundle even when the build runs under Vitest (NODE_ENV=test builds React for development).
    { stdio: 'inherit', cwd: root, env: { ...process.env, NODE_ENV: 'production' } },
  );
  if (bundle.status !== 0) {
    rmSync(fresh, { recursive: true, force: true });
    throw new Error(`the console build failed: vite exited with ${bundle.status ?? bundle.signal}`);
  }
  writeFileSync(join(fresh, '.built'), `${new Date().toISOString()}\n`);
  if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), old);
  renameSync(fresh, join(root, 'dist'));
  rmSync(old, { recursive: true, force: true });
  process.stderr.write(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    build({ ifStale: process.argv.includes('--if-stale') });
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
