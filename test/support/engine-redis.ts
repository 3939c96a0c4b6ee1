// Vitest global setup of the engines tier: a throwaway redis-server for the whole run.
import type { TestProject } from 'vitest/node';
import { startRedis } from '../services/redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedis();
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
