import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.js';

describe('Redis settings', () => {
  it('leaves Redis out unless FOTA_REDIS_URL is set, and reads the rest with it', () => {
    expect(loadConfig({ FOTA_NODE_ID: 'a' }).redis).toBeUndefined();
    expect(loadConfig({ FOTA_REDIS_URL: 'redis://10.0.0.5:6379/2' }).redis).toEqual({
      url: 'redis://10.0.0.5:6379/2',
      nodeId: undefined,
      presenceTtlMs: 30_000,
      requestTimeoutMs: 10_000,
    });
    expect(
      loadConfig({
        FOTA_REDIS_URL: 'rediss://:secret@redis.example:6380',
        FOTA_NODE_ID: 'node-1_a',
        FOTA_REDIS_PRESENCE_TTL_S: '3',
        FOTA_REDIS_REQUEST_TIMEOUT_S: '2.5',
      }).redis,
    ).toEqual({
      url: 'rediss://:secret@redis.example:6380',
      nodeId: 'node-1_a',
      presenceTtlMs: 3000,
      requestTimeoutMs: 2500,
    });
  });

  it.each([
    [{ FOTA_REDIS_URL: 'http://redis:6379' }, 'FOTA_REDIS_URL must be a redis:// or rediss:// URL'],
    [{ FOTA_NODE_ID: 'a b' }, 'FOTA_NODE_ID must be 1 to 64 letters, digits, - or _'],
    [{ FOTA_NODE_ID: 'n'.repeat(65) }, 'FOTA_NODE_ID must be 1 to 64 letters, digits, - or _'],
    [{ FOTA_REDIS_PRESENCE_TTL_S: '0' }, 'FOTA_REDIS_PRESENCE_TTL_S must be a number of seconds above 0'],
    [{ FOTA_REDIS_REQUEST_TIMEOUT_S: 'soon' }, 'FOTA_REDIS_REQUEST_TIMEOUT_S must be a number of seconds above 0'],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
