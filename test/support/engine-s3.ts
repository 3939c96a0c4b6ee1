// Vitest global setup of the engines tier: starts a throwaway S3-compatible engine (Debian's
// OpenStack Swift with s3api), creates one bucket, hands its address to the tests, stops it at the end.
import type { TestProject } from 'vitest/node';
import { startS3Server } from '../services/s3.js';

export interface S3Engine {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A bucket created for the run; tests keep apart by key prefix or create buckets of their own. */
  readonly bucket: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Engine;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startS3Server();
  const bucket = 'fota-test';
  try {
    await server.createBucket(bucket);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const { endpoint, region, accessKeyId, secretAccessKey } = server;
  project.provide('s3', { endpoint, region, accessKeyId, secretAccessKey, bucket });
  return () => server.stop();
}
