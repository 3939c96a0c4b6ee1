// Loaded into the fota server by `npm run bench:push -- --profile DIR` (NODE_OPTIONS=--import):
// each SIGUSR2 starts a CPU profile of the main thread, the next one stops it and writes
// DIR/profile-N.cpuprofile (N = 1, 2, …), which Chrome DevTools and bench/push/profile-summary.ts read.
// Not part of the product: only the bench loads it.
import { Session } from 'node:inspector';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let profiling = false;
  let count = 0;
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  process.on('SIGUSR2', () => {
    if (!profiling) {
      profiling = true;
      session.post('Profiler.start');
      return;
    }
    profiling = false;
    session.post('Profiler.stop', (error, result) => {
      count++;
      const file = join(dir, `profile-${count}.cpuprofile`);
      // Written aside, then renamed: the bench waits for the name.
      writeFileSync(`${file}.part`, error ? JSON.stringify({ error: String(error) }) : JSON.stringify(result.profile));
      renameSync(`${file}.part`, file);
    });
  });
}
