// Vitest global setup of the integration tier: compiles dist/ when a source changed since the last
// build, so spawning `bin/fota.js` never runs an old build.
import { build } from '../../scripts/build.mjs';

export default function setup(): void {
  build({ ifStale: true });
}
