import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.js';

describe('database settings', () => {
  it('refuses a FOTA_DATABASE_URL that is not PostgreSQL, or not a URL, without showing its password', () => {
    expect(() => loadConfig({ FOTA_DATABASE_URL: 'mysql://fota:s3cret@db/fota' })).toThrow(
      'FOTA_DATABASE_URL must be a URL of the form postgres://user:password@host:5432/database, not "mysql://fota:***@db/fota"',
    );
    expect(() => loadConfig({ FOTA_DATABASE_URL: 'fota:s3cret@db' })).toThrow(
      /FOTA_DATABASE_URL must be a URL of the form postgres:\/\/user:password@host:5432\/database$/m,
    );
    expect(() => loadConfig({ FOTA_DATABASE_URL: 'fota:s3cret@db' })).not.toThrow(/s3cret/);
    expect(loadConfig({ FOTA_DATABASE_URL: 'postgresql://db/fota' }).databaseUrl).toBe('postgresql://db/fota');
    expect(() => loadConfig({ FOTA_DATABASE_POOL_SIZE: '0' })).toThrow(
      'FOTA_DATABASE_POOL_SIZE must be a whole number from 1 to 10000, not "0"',
    );
  });
});
