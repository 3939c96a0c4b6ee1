import { defineConfig } from 'vitest/config';

/**
 * Three tiers: unit tests beside the code, integration tests against real servers and sockets, and a
 * short stress tier that fuzzes the device ports of a real server process with fixed seeds.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          // The tests spawn `fota` as users run it, from dist/: build it first when it is stale.
          globalSetup: ['test/support/build.ts'],
        },
      },
      {
        test: {
          name: 'console',
          include: ['console/test/**/*.test.tsx'],
          environment: 'jsdom',
          setupFiles: ['console/test/setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          // Against `fota serve` from dist/, as the integration tests.
          globalSetup: ['test/support/build.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 60_000,
          pool: 'forks',
          // The web console in Debian's chromium against `fota serve` from dist/, console included.
          globalSetup: ['test/support/build.ts'],
        },
      },
      {
        test: {
          name: 'stress',
          include: ['test/stress/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
    ],
  },
});
