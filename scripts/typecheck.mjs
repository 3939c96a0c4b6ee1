// `npm run typecheck`: the server and the console type-checked at once (two processes, one per
// tsconfig), incrementally: the build info under node_modules/.cache makes a re-run check only what changed.
import { spawn } from 'node:child_process';

const projects = [
  ['.', 'node_modules/.cache/tsc/server.tsbuildinfo'],
  ['console', 'node_modules/.cache/tsc/console.tsbuildinfo'],
];
const codes = await Promise.all(
  projects.map(
    ([project, buildInfo]) =>
      new Promise((resolve) => {
        const tsc = spawn(
          process.execPath,
          [
            'node_modules/typescript/bin/tsc',
            '--noEmit',
            '-p',
            project,
            '--incremental',
            '--tsBuildInfoFile',
            buildInfo,
          ],
          { stdio: 'inherit' },
        );
        tsc.once('exit', (code) => resolve(code ?? 1));
      }),
  ),
);
process.exit(codes.some((code) => code !== 0) ? 1 : 0);
