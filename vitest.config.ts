import { defineConfig } from 'vitest/config';

/**
 * Tiers: unit tests beside the code, integration tests against real servers and sockets, the
 * console against a real server (jsdom) and in Debian's chromium (e2e), the engines tier against
 * real PostgreSQL, Redis and S3 servers it starts itself, and a short stress tier that fuzzes the
 * device ports of a real server process with fixed seeds.
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
          name: 'engines',
          include: ['test/engines/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
          // Each engine's global setup starts a throwaway server of its own (Debian's binaries, a
          // temporary folder, a free loopback port), fails loudly when its binaries are missing,
          // hands its address to the tests with `provide`, and stops it at the end.
          globalSetup: ['test/support/build.ts', 'test/support/engine-s3.ts'],
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
