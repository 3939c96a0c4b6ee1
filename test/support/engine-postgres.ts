import type { TestProject } from 'vitest/node';
import { startPostgres } from '../services/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The throwaway PostgreSQL server of this run, as its superuser: `postgres://fota@127.0.0.1:PORT/postgres`. */
    postgresUrl: string;
  }
}

/** Starts a throwaway PostgreSQL for the engines tier, and stops it at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
